"""Experiment trackers, optional and off by default (`track:` in a config): W&B, MLflow and
TensorBoard follow each unit's epochs and result and each CV, without the engine knowing any
of them (the engine's one hook, `on_epoch_end`, is all they use) and without ever failing a
run (podium.tracking.session)."""

from podium.tracking.run import RunLabel
from podium.tracking.session import Tracking, track_cv, track_unit_result, unit_tracking

__all__ = ["RunLabel", "Tracking", "track_cv", "track_unit_result", "unit_tracking"]
