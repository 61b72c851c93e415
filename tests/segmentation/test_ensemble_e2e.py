"""A segmentation ensemble end to end through the CLI, as a user runs it: `podium score -c
configs/digits_segmentation/ensemble.yaml` on a tiny copy of the demo (48 train and 16 test
images of 32 px, 2 folds, 2 epochs) trains both members (a U-Net and an FPN), predicts their maps, ensembles them,
writes the run-length submission from the ensemble's maps and decision, and scores it; its
export predicts the same file. A member on other folds, or at another image size, is refused
by name before anything trains."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from factories import tiny_mask_overrides
from podium.cli import main
from podium.config import load_config
from podium.mask_store import OOF_MAPS, TEST_MAPS, read_maps
from podium.metrics.segmentation import SEGMENTATION
from podium.segmentation.demo import write_segmentation_demo
from podium.segmentation.rle import encode
from podium.submission import read_submission
from podium.tasks.decisions.mask_area import MaskThreshold

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs/digits_segmentation"
ENSEMBLE = CONFIGS / "ensemble.yaml"
SIZE = 32


def overrides(tmp: Path) -> list[str]:
    """The tiny run's overrides but the U-Net's decoder channels (an FPN has none)."""
    return [o for o in tiny_mask_overrides(tmp, SIZE, epochs=2) if not o.startswith("model.kwargs")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("segens")
    write_segmentation_demo(tmp / "data/digits_segmentation", size=SIZE, n_train=48, n_test=16)
    return tmp


def test_ensemble_submit_and_score_through_the_cli(demo, capsys):
    assert main(["score", "-c", str(ENSEMBLE), *overrides(demo)]) == 0
    out = capsys.readouterr().out
    assert "score digits_segmentation-masks" in out and "public" in out
    run = load_config(ENSEMBLE, overrides(demo)).run_dir
    scores = json.loads((run / "scores.json").read_text())
    cands = scores["candidates"]
    assert list(cands) == ["unet", "fpn", "mean", "blend", "blend_gate"]
    chosen = scores["chosen"]
    assert scores["cv"] == cands[chosen]["dice"] and 0 <= scores["cv"] <= 1
    assert scores["in_sample"] == cands[chosen]["in_sample"]  # beside the honest CV
    assert "cv_at_image_size" not in scores  # the images are at the model's size
    # each member alone scores as its own oof did (same maps, same honest decision)
    for name in ("unet", "fpn"):
        member = json.loads((run.parents[1] / name / "scores.json").read_text())
        assert cands[name]["dice"] == pytest.approx(member["cv"])
    weights = cands["blend"]["weights_by_fold"]
    for k in (0, 1):
        assert weights["unet"][k] + weights["fpn"][k] == pytest.approx(1)
    assert scores["nested_selection"]["refitted"] is False  # two folds: nothing to refit on
    assert set(scores["nested_selection"]["picked_by_fold"]) == {"0", "1"}
    report = (run / "report.md").read_text()
    assert "nested-selection CV" in report and "blend_gate" in report
    if chosen not in ("unet", "fpn"):
        vs = scores["vs_best_member"]
        assert set(vs["gains"]) == {"dice", "pixel_log_loss"} and "Paired, per image" in report
    # the gates are XGBoost's own files, nothing is pickled
    for spec in cands["blend_gate"]["gates"]:  # a fold's gate: a file, or a constant
        assert "constant" in spec or (run / "meta" / spec["file"]).suffix == ".ubj"
        assert "constant" in spec or (run / "meta" / spec["file"]).is_file()
    assert not list(run.rglob("*.pkl"))
    # the submission is the ensemble's test maps decided by the ensemble's decision
    ids = json.loads((run / TEST_MAPS).with_suffix(".json").read_text())["ids"]
    maps = read_maps(run / TEST_MAPS, ids)
    params = np.array(scores["final"]["decision"]["params"])
    decided = MaskThreshold(SEGMENTATION["dice"]).apply(maps, params)
    sub = read_submission(next((demo / "subs").glob("digits_segmentation-masks-cv*.csv")))
    cells = sub.set_index("id")["rle"].fillna("")
    for i, image_id in enumerate(ids):
        assert cells[image_id] == encode(decided[i, 0])  # the demo: column-major, from 1
    assert read_maps(run / OOF_MAPS, ids[:0]).shape[0] == 0  # an OOF store with its ids
    from podium.board.freshness import check_run

    cfg = load_config(ENSEMBLE, overrides(demo))
    assert check_run(cfg, run, {}).state == "fresh"  # the board judges it as the stage does
    # unchanged members: the ensemble is not redone
    stamp = (run / "scores.json").stat().st_mtime_ns
    assert main(["ensemble", "-c", str(ENSEMBLE), *overrides(demo)]) == 0
    assert (run / "scores.json").stat().st_mtime_ns == stamp


def test_export_then_predict_writes_the_ensemble_s_submission(demo, tmp_path):
    """The bundle carries both members' fold models, the chosen candidate (weights, gates)
    and the decision; `podium predict --bundle` writes `podium submit`'s file byte for byte."""
    assert main(["submit", "-c", str(ENSEMBLE), *overrides(demo)]) == 0
    run = load_config(ENSEMBLE, overrides(demo)).run_dir
    submitted = Path(json.loads((run / "submission.json").read_text())["path"])
    bundle = tmp_path / "bundle"
    assert main(["export", "-c", str(ENSEMBLE), *overrides(demo), "--out", str(bundle)]) == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert [m["name"] for m in manifest["members"]] == ["unet", "fpn"]
    chosen = json.loads((run / "scores.json").read_text())["chosen"]
    assert manifest["combination"]["chosen"] == chosen
    data = tmp_path / "hidden/digits_segmentation"
    shutil.copytree(demo / "data/digits_segmentation/test", data / "test")
    for name in ("test.csv", "sample_submission.csv"):
        shutil.copy(demo / "data/digits_segmentation" / name, data / name)
    out = tmp_path / "out/submission.csv"
    assert main(["predict", "--bundle", str(bundle), "--data", str(data), "--out", str(out)]) == 0
    assert out.read_bytes() == submitted.read_bytes()


@pytest.mark.parametrize(
    ("section", "said"),
    [("folds:\n  seed: 7\n", "uses other folds"), ("data:\n  image_size: 48\n", "data.image_size")],
)
def test_a_member_that_cannot_be_blended_is_refused_by_name(demo, tmp_path, capsys, section, said):
    (tmp_path / "odd.yaml").write_text(f"extends: {CONFIGS / 'unet.yaml'}\nname: odd\n{section}")
    (tmp_path / "bad.yaml").write_text(
        f"extends: {CONFIGS / 'base.yaml'}\nname: bad\n"
        f"ensemble:\n  members: [{CONFIGS / 'unet.yaml'}, odd.yaml]\n"
    )
    tiny = [o for o in overrides(demo) if not o.startswith("data.image_size")]
    assert main(["ensemble", "-c", str(tmp_path / "bad.yaml"), *tiny]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "member 'odd'" in err and said in err, err
    assert not (demo / "runs/digits_segmentation/odd").exists()  # refused before training
