"""A teacher whose fold-k epoch is chosen on fold k's labels (`train.checkpoint: best`, or
early stopping) passes a little of those labels into fold k's pseudo-labels: podium warns,
and the report says which weights the teacher used."""

from __future__ import annotations

import pytest

from podium.config import from_dict
from podium.pseudo.teacher import PseudoLeakWarning, Teacher


def teacher(**train) -> Teacher:
    cfg = from_dict(
        {"name": "teacher", "competition": {"name": "c"}, "train": {"checkpoint": "last", **train}}
    )
    return Teacher(cfg)


@pytest.mark.parametrize(
    "train", [{"checkpoint": "best"}, {"early_stopping_patience": 3}], ids=["best", "early"]
)
def test_a_teacher_that_picks_epochs_on_the_fold_warns_and_says_so(train):
    t = teacher(**train)
    with pytest.warns(
        PseudoLeakWarning, match="chose each fold-k model's epoch on fold k's labels"
    ):
        t.warn_epoch_choice("student")
    assert "slightly optimistic" in t.checkpoint_note()


def test_a_fixed_schedule_teacher_is_leak_free_and_silent(recwarn):
    t = teacher()
    t.warn_epoch_choice("student")
    assert not [w for w in recwarn if issubclass(w.category, PseudoLeakWarning)]
    assert "leak-free" in t.checkpoint_note()
