"""Pseudo-labels for segmentation through the CLI, on a tiny copy of the demo (48 train and
16 test images of 32 px, 2 folds, 1 epoch): a U-Net teacher maps the test images, and a
student trains on its pseudo-masks. Leak-free: student fold k's targets are the maps of the
teacher's fold-k units alone, with its `last.pt` (its best.pt was chosen on fold k's labels),
and hard targets are decided with the post-processing fitted without fold k; pseudo images
join training only, so the student's OOF store and CV cover the labelled images alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from factories import tiny_mask_overrides
from podium.cli import main
from podium.config import load_config
from podium.config.pseudo import PseudoConfig
from podium.engine import checkpoint
from podium.experiment import Experiment
from podium.mask_data import fold_maps
from podium.mask_store import OOF_MAPS
from podium.pseudo.select import select_rows
from podium.pseudo_masks import PSEUDO_MASKS, read_pseudo_masks
from podium.segmentation.demo import write_segmentation_demo
from podium.tasks.segmentation_pseudo import MaskPseudo

ROOT = Path(__file__).resolve().parents[2]
UNET = ROOT / "configs/digits_segmentation/unet.yaml"
SIZE = 32


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """teacher.yaml (the tiny U-Net, train.checkpoint: best) beside the students, trained,
    with its oof and infer made."""
    tmp = tmp_path_factory.mktemp("segpseudo")
    write_segmentation_demo(tmp / "data/digits_segmentation", size=SIZE, n_train=48, n_test=16)
    d = load_config(UNET, tiny_mask_overrides(tmp, SIZE)).resolved()
    d["name"] = "teacher"
    d["infer"]["tta"] = ["identity"]
    (tmp / "teacher.yaml").write_text(yaml.safe_dump(d, sort_keys=False))
    assert main(["infer", "-c", str(tmp / "teacher.yaml")]) == 0
    assert main(["oof", "-c", str(tmp / "teacher.yaml")]) == 0
    return d


def _student(teacher: dict, name: str, **pseudo) -> Path:
    root = Path(teacher["paths"]["runs"]).parent
    d = {**teacher, "name": name, "pseudo": {"teacher": "teacher.yaml", **pseudo}}
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


@pytest.fixture
def loads(monkeypatch) -> list[Path]:
    """Every unit checkpoint whose weights are read to predict maps from now on."""
    seen: list[Path] = []
    real = checkpoint.load_checkpoint

    def spy(path, map_location="cpu"):
        seen.append(Path(path))
        return real(path, map_location)

    monkeypatch.setattr(checkpoint, "load_checkpoint", spy)  # inference_state's
    return seen


def test_soft_pseudo_masks_come_from_the_teachers_fold_k_last_weights(teacher, loads, capsys):
    student = _student(teacher, "student-soft", threshold=0.0, soft=True)
    assert main(["pseudo", "-c", str(student)]) == 0
    out = capsys.readouterr().out
    assert "pseudo student-soft (round 1, teacher teacher)" in out
    t_cfg = load_config(Path(student).parent / "teacher.yaml")
    t_run = t_cfg.run_dir
    # the teacher's units taught with last.pt, fold by fold (its own oof / infer: best.pt)
    taught = sorted(p.relative_to(t_run).as_posix() for p in loads if p.name == "last.pt")
    assert taught == ["fold0/seed0/last.pt", "fold1/seed0/last.pt"]
    s_cfg = load_config(student)
    texp, sexp = Experiment(t_cfg), Experiment(s_cfg)
    ids = [str(i) for i in sexp.comp.test_ids]
    maps = {k: fold_maps(texp, k, texp.test_images, "last") for k in (0, 1)}
    for k in (0, 1):
        masks = read_pseudo_masks(s_cfg.run_dir / PSEUDO_MASKS, k)
        assert masks is not None and len(masks.ids) == 16  # threshold 0: every test image
        rows = [ids.index(i) for i in masks.ids]
        # fold k's soft targets are the teacher's fold-k maps, not the other fold's
        assert np.abs(masks.targets - maps[k][rows]).max() < 2e-3
        assert np.abs(masks.targets - maps[1 - k][rows]).max() > 1e-2
    assert read_pseudo_masks(s_cfg.run_dir / PSEUDO_MASKS, -1) is None
    record = json.loads((s_cfg.run_dir / "pseudo.json").read_text())
    assert record["leak_free"] is True and record["targets"] == "soft"
    # the student's OOF store and CV: the 48 labelled images only, none of the pseudo ones
    side = json.loads((s_cfg.run_dir / OOF_MAPS).with_suffix(".json").read_text())
    assert sorted(side["ids"]) == sorted(str(i) for i in sexp.comp.train_ids)
    scores = json.loads((s_cfg.run_dir / "scores.json").read_text())
    assert 0 <= scores["cv"] <= 1
    report = json.loads((s_cfg.run_dir / "pseudo_report.json").read_text())["rounds"][-1]
    assert report["cv"]["teacher"] is not None and report["leaderboard"]["student"] is not None
    assert 0 <= report["pseudo_accuracy"]["overall"] <= 1
    assert "pseudo-label Dice" in (s_cfg.run_dir / "pseudo_report.md").read_text()


def test_hard_pseudo_masks_are_decided_with_the_fold_k_post_processing(teacher, loads):
    section = {"threshold": None, "top_fraction": 0.5, "soft": False}
    student = _student(teacher, "student-hard", **section)
    assert main(["train", "-c", str(student)]) == 0
    t_cfg, s_cfg = load_config(Path(student).parent / "teacher.yaml"), load_config(student)
    texp = Experiment(t_cfg)
    decision = json.loads((t_cfg.run_dir / "scores.json").read_text())["final"]["decision"]
    ids = [str(i) for i in texp.comp.test_ids]
    for k in (0, 1):
        masks = read_pseudo_masks(s_cfg.run_dir / PSEUDO_MASKS, k)
        assert masks is not None
        maps = fold_maps(texp, k, texp.test_images, "last")
        # the most confident half of each group (empty / mask)
        chosen = select_rows(
            texp.task.pseudo.candidates(maps), PseudoConfig(**section, teacher="t")
        )
        assert sorted(masks.ids) == sorted(ids[i] for i in chosen)
        rows = [ids.index(i) for i in masks.ids]
        expected = texp.task.decision.apply(maps[rows], np.array(decision["fold_params"][str(k)]))
        assert set(np.unique(masks.targets)) <= {0.0, 1.0}
        assert (masks.targets.astype(bool) == expected).all()
    # the units stamp the pseudo-masks: a second run trains nothing
    assert main(["train", "-c", str(student)]) == 0


@pytest.mark.parametrize(
    ("pseudo", "key"),
    [
        ({"weight": 0.5}, "pseudo.weight"),
        ({"confidence_weighting": True}, "pseudo.confidence_weighting"),
    ],
)
def test_per_image_weights_are_one_line_errors(teacher, capsys, pseudo, key):
    student = _student(teacher, "student-bad", **pseudo)
    assert main(["train", "-c", str(student)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key in err and "segmentation" in err, err


def test_candidates_rank_whole_maps_by_mean_pixel_confidence():
    from podium.metrics.segmentation import SEGMENTATION
    from podium.tasks.decisions.mask_area import MaskThreshold

    pseudo = MaskPseudo(MaskThreshold(SEGMENTATION["dice"]))
    pred = np.zeros((3, 1, 4, 4), np.float32)
    pred[1, 0, :2] = 0.9  # a confident mask
    pred[2] = 0.5  # unsure everywhere
    cands = pseudo.candidates(pred)
    assert cands.label.tolist() == ["empty", "mask", "empty"] or cands.label.tolist() == [
        "empty",
        "mask",
        "mask",
    ]
    assert cands.confidence[0] == pytest.approx(1.0) and cands.confidence[2] == pytest.approx(0)
    assert pseudo.targets(pred, soft=False)[1, 0, 0, 0] == 1.0


def test_extra_unlabelled_images_are_mapped_and_trained_on(teacher):
    import shutil

    root = Path(teacher["paths"]["data"]) / "digits_segmentation"
    extra = root / "unlabelled"
    extra.mkdir(exist_ok=True)
    for path in sorted((root / "test").glob("*.png"))[:4]:
        shutil.copy(path, extra / f"u-{path.name}")
    student = _student(
        teacher, "student-extra", extra_images="unlabelled", use_test=False, threshold=0.0
    )
    assert main(["train", "-c", str(student)]) == 0
    s_cfg = load_config(student)
    for k in (0, 1):
        masks = read_pseudo_masks(s_cfg.run_dir / PSEUDO_MASKS, k)
        assert masks is not None and set(masks.source) == {"extra"}
        assert sorted(masks.ids) == sorted(p.stem for p in extra.glob("*.png"))
