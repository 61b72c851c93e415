"""A segmentation ensemble end to end through the CLI, as a user runs it: `podium score -c
configs/digits_segmentation/ensemble.yaml` on a tiny copy of the demo (48 train and 16 test
images of 32 px, 2 folds, 2 epochs) trains both U-Nets, predicts their maps, ensembles them,
writes the run-length submission from the ensemble's maps and decision, and scores it. A
member on other folds, or at another image size, is refused by name before anything trains;
export of a segmentation ensemble is refused in one line."""

from __future__ import annotations

import json
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
    return tiny_mask_overrides(tmp, SIZE, epochs=2)


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
    assert list(cands) == ["unet", "unet_lovasz", "mean", "blend", "blend_gate"]
    chosen = scores["chosen"]
    assert scores["cv"] == cands[chosen]["dice"] and 0 <= scores["cv"] <= 1
    assert scores["in_sample"] == cands[chosen]["in_sample"]  # beside the honest CV
    # each member alone scores as its own oof did (same maps, same honest decision)
    for name in ("unet", "unet_lovasz"):
        member = json.loads((run.parents[1] / name / "scores.json").read_text())
        assert cands[name]["dice"] == pytest.approx(member["cv"])
    weights = cands["blend"]["weights_by_fold"]
    for k in (0, 1):
        assert weights["unet"][k] + weights["unet_lovasz"][k] == pytest.approx(1)
    assert scores["nested_selection"]["refitted"] is False  # two folds: nothing to refit on
    assert set(scores["nested_selection"]["picked_by_fold"]) == {"0", "1"}
    report = (run / "report.md").read_text()
    assert "nested-selection CV" in report and "blend_gate" in report
    if chosen not in ("unet", "unet_lovasz"):
        vs = scores["vs_best_member"]
        assert set(vs["gains"]) == {"dice", "pixel_log_loss"} and "Paired, per image" in report
    # the gates are XGBoost's own files, nothing is pickled
    for name in cands["blend_gate"]["gates"]:
        assert (run / "meta" / name).suffix == ".ubj" and (run / "meta" / name).is_file()
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
    capsys.readouterr()
    assert main(["export", "-c", str(ENSEMBLE), *overrides(demo)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "segmentation ensemble" in err


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
