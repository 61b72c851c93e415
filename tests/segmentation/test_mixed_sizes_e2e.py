"""Images of several sizes in one table, end to end through the CLI: the tiny segmentation
demo with its images and masks resized to 24x24 or 20x32 (height x width, alternately),
trained at 32 px: folds -> train -> oof -> infer -> submit -> score. The submission's
run-lengths decode to masks of each image's own size (read from its file), `podium score`
scores them against a solution at the original sizes, and `podium predict --bundle` writes
the same file byte for byte. An ensemble of two members reports its chosen candidate's CV at
the images' own sizes too, as a single run does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from factories import tiny_mask_overrides
from podium.cli import main
from podium.config import load_config
from podium.mask_store import OOF_MAPS, TEST_MAPS, read_maps
from podium.segmentation.demo import write_segmentation_demo
from podium.segmentation.rle import decode, encode

ROOT = Path(__file__).resolve().parents[2]
UNET = ROOT / "configs/digits_segmentation/unet.yaml"
ENSEMBLE = ROOT / "configs/digits_segmentation/ensemble.yaml"
SIZE = 32
SHAPES = ((24, 24), (20, 32))  # (height, width): image i gets SHAPES[i % 2]
READ = {"dtype": str, "keep_default_na": False}


def _resize(folder: Path, table: pd.DataFrame, column: str | None) -> dict[str, tuple[int, int]]:
    """Resize each image of `table` (and its mask in `column`) to its shape, in place."""
    shapes = {}
    for i, image_id in enumerate(table["id"]):
        h, w = SHAPES[i % 2]
        path = folder / f"{image_id}.png"
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(path), cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))
        if column is not None:
            mask = decode(table.loc[i, column], (SIZE, SIZE)).astype(np.uint8)
            small = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
            table.loc[i, column] = encode(small.astype(bool))
        shapes[image_id] = (h, w)
    return shapes


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[int, int]]]:
    tmp = tmp_path_factory.mktemp("mixed")
    root = write_segmentation_demo(
        tmp / "data/digits_segmentation", size=SIZE, n_train=24, n_test=8
    )
    train = pd.read_csv(root / "train.csv", **READ)
    solution = pd.read_csv(root / "solution.csv", **READ)
    shapes = _resize(root / "train", train, "rle")
    solution = solution.set_index("id").loc[pd.read_csv(root / "test.csv", **READ)["id"]]
    solution = solution.reset_index()
    shapes |= _resize(root / "test", solution, "rle")
    train.to_csv(root / "train.csv", index=False)
    solution.to_csv(root / "solution.csv", index=False)
    return tmp, shapes


def cli(tmp: Path, *args: str) -> int:
    return main([*args, "-c", str(UNET), *tiny_mask_overrides(tmp, SIZE), "infer.tta=[identity]"])


def test_images_of_two_sizes_train_submit_and_score(mixed, capsys):
    tmp, shapes = mixed
    assert cli(tmp, "score") == 0
    out = capsys.readouterr().out
    assert "score digits_segmentation-unet" in out and "public" in out
    cfg = load_config(UNET, tiny_mask_overrides(tmp, SIZE))
    run = cfg.run_dir
    scores = json.loads((run / "scores.json").read_text())
    assert 0 <= scores["cv"] <= 1 and 0 <= scores["cv_at_image_size"] <= 1
    train = pd.read_csv(tmp / "data/digits_segmentation/train.csv", **READ)
    assert read_maps(run / OOF_MAPS, train["id"].tolist()).shape[2:] == (SIZE, SIZE)
    test = pd.read_csv(tmp / "data/digits_segmentation/test.csv", **READ)
    assert read_maps(run / TEST_MAPS, test["id"].tolist()).shape[2:] == (SIZE, SIZE)
    (sub_path,) = sorted((tmp / "subs").glob("digits_segmentation-unet-*.csv"))
    sub = pd.read_csv(sub_path, **READ)
    assert sub["id"].tolist() == test["id"].tolist()
    assert {shapes[i] for i in sub["id"]} == set(SHAPES)
    for image_id, cell in zip(sub["id"], sub["rle"], strict=True):
        h, w = shapes[image_id]
        runs = [int(v) for v in cell.split()]
        assert all(
            start + length - 1 <= h * w for start, length in zip(runs[::2], runs[1::2], strict=True)
        )
        assert decode(cell, (h, w)).shape == (h, w)
    # scored at the original sizes: the solution scored against itself is 1
    truth = pd.read_csv(tmp / "data/digits_segmentation/solution.csv", **READ)
    perfect = tmp / "perfect.csv"
    truth[["id", "rle"]].to_csv(perfect, index=False)
    assert cli(tmp, "score", "--submission", str(perfect)) == 0
    out = capsys.readouterr().out
    assert "dice  all 1.0000  public 1.0000  private 1.0000" in out


def test_export_then_predict_writes_the_same_file(mixed, tmp_path, monkeypatch):
    tmp, _ = mixed

    def no_wheel(dest: Path) -> Path:  # podium's wheel is built by the demo's export test
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "podium-0-py3-none-any.whl").write_bytes(b"")
        return dest / "podium-0-py3-none-any.whl"

    monkeypatch.setattr("podium.stages.export.build_podium_wheel", no_wheel)
    assert cli(tmp, "submit") == 0
    (submitted,) = sorted((tmp / "subs").glob("digits_segmentation-unet-*.csv"))
    assert cli(tmp, "export", "--out", str(tmp_path / "made")) == 0
    data = tmp_path / "hidden/digits_segmentation"
    shutil.copytree(tmp / "data/digits_segmentation/test", data / "test")
    for name in ("test.csv", "sample_submission.csv"):
        shutil.copy(tmp / "data/digits_segmentation" / name, data)
    out = tmp_path / "submission.csv"
    bundle = str(tmp_path / "made")
    assert main(["predict", "--bundle", bundle, "--data", str(data), "--out", str(out)]) == 0
    assert out.read_bytes() == submitted.read_bytes()


def test_the_ensemble_scores_its_choice_at_the_images_own_sizes(mixed, tmp_path, capsys):
    tmp, _ = mixed
    shutil.copytree(tmp / "data", tmp_path / "data")
    tiny = [o for o in tiny_mask_overrides(tmp_path, SIZE) if not o.startswith("model.kwargs")]
    tiny.append("infer.tta=[identity]")  # the members' (an FPN has no decoder_channels)
    run = load_config(ENSEMBLE, tiny).run_dir
    # a member chosen: the CV at the images' own sizes is the one its own oof reported
    assert main(["ensemble", "-c", str(ENSEMBLE), *tiny, "ensemble.select=unet"]) == 0
    out = capsys.readouterr().out
    scores = json.loads((run / "scores.json").read_text())
    member = json.loads((run.parents[1] / "unet/scores.json").read_text())
    assert scores["chosen"] == "unet" and scores["cv"] == pytest.approx(member["cv"])
    assert scores["cv_at_image_size"] == pytest.approx(member["cv_at_image_size"], abs=1e-12)
    assert f"at the images' own sizes {member['cv_at_image_size']:.4f}" in out
    # a blend chosen: its maps decided at each image's size with its own fold parameters
    assert main(["ensemble", "-c", str(ENSEMBLE), *tiny, "ensemble.select=blend"]) == 0
    out = capsys.readouterr().out
    scores = json.loads((run / "scores.json").read_text())
    assert scores["chosen"] == "blend" and 0 <= scores["cv_at_image_size"] <= 1
    assert f"at the images' own sizes {scores['cv_at_image_size']:.4f}" in out
