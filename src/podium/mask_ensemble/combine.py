"""A mask ensemble's chosen candidate made again from its members' test maps, with what the
ensemble stored (`scores.json`'s candidate: the blend's weights by fold, the gates' files):
what `podium predict --bundle` runs for an exported segmentation ensemble, so the bundle's
maps are the ensemble's `test_maps.npy` (same members' maps in, same arithmetic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from podium.errors import ArtifactError
from podium.mask_ensemble.gate import gate_test, load_gates
from podium.mask_ensemble.weights import blend


def combine_maps(
    combination: dict[str, Any], names: list[str], maps: list[np.ndarray], meta_dir: Path
) -> np.ndarray:
    """The chosen candidate's test maps from the members' (`names` in `maps`' order)."""
    kind, chosen = combination["kind"], combination["chosen"]
    if kind == "member":
        return maps[names.index(chosen)]
    if kind == "mean":
        return blend(maps, np.full(len(maps), 1.0 / len(maps)))
    if kind not in ("blend", "stack"):
        raise ArtifactError(f"{meta_dir}: unknown mask combination kind {kind!r}")
    by_fold = combination["weights_by_fold"]
    weights = np.array([by_fold[n] for n in names]).T.mean(axis=0)  # (K, M) -> (M,)
    blended = blend(maps, weights)
    if kind == "blend":
        return blended
    return gate_test(maps, blended, load_gates(combination["gates"], meta_dir))
