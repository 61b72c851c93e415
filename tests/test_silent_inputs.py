"""Input that was accepted silently and gave a meaningless run: each is now refused, or warned
on stderr, through the CLI as a user meets it (#23 item 22)."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from factories import write_competition, write_toy_config
from podium.cli import main
from podium.data.readers import read_image


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_a_regression_target_far_outside_the_rest_is_warned(tmp_path, capsys):
    values = [str(v) for v in [1.0, 2.0, 3.0, 2.5, 1.5, 2.2, 1.8, 1e39]]
    write_competition(tmp_path, values)
    config = write_toy_config(tmp_path, competition={"task": "regression", "metric": "rmse"})
    code, err = run(capsys, "folds", "-c", str(config))
    assert code == 0
    assert "warning: " in err and "1 value(s) lie more than 1000 robust standard deviations" in err
    assert "line 9, id 'r007' = 1e+39" in err


def test_a_regression_target_too_large_to_score_is_refused(tmp_path, capsys):
    write_competition(tmp_path, ["1", "2", "3", "1e308", "2", "1", "3", "2"])
    config = write_toy_config(tmp_path, competition={"task": "regression", "metric": "rmse"})
    code, err = run(capsys, "folds", "-c", str(config))
    assert code == 2 and "line 5 (id 'r003'), column 'label' has '1e308', too large to score" in err


def test_ordinary_regression_targets_are_not_warned(tmp_path, capsys):
    rng = np.random.default_rng(0)
    write_competition(tmp_path, [f"{v:.3f}" for v in rng.lognormal(0, 1, 200)], n_test=2)
    config = write_toy_config(tmp_path, competition={"task": "regression", "metric": "rmse"})
    code, err = run(capsys, "folds", "-c", str(config))
    assert code == 0 and "warning" not in err


def test_non_finite_metadata_is_refused(tmp_path, capsys):
    comp = write_competition(tmp_path, ["a", "b"] * 4)
    for table, n in (("train.csv", 8), ("test.csv", 4)):
        ids = (
            [f"r{i:03d}" for i in range(n)]
            if table == "train.csv"
            else [f"t{i:03d}" for i in range(n)]
        )
        df = (
            pd.read_csv(comp / table, dtype=str)
            if table == "train.csv"
            else pd.DataFrame({"id": ids})
        )
        df["age"] = ["30"] * n
        if table == "train.csv":
            df.loc[2, "age"] = "inf"
        df.to_csv(comp / table, index=False)
    config = write_toy_config(
        tmp_path, competition={"test_csv": "test.csv", "metadata": {"numeric": ["age"]}}
    )
    code, err = run(capsys, "folds", "-c", str(config))
    assert code == 2 and "line 4, numeric metadata column 'age' = 'inf' is not a finite" in err


def test_a_nan_training_loss_stops_the_unit_with_a_message(tmp_path, capsys):
    write_competition(tmp_path, ["a", "b"] * 4)
    config = write_toy_config(tmp_path, train={"epochs": 2, "lr": 1e30, "optimizer": "sgd"})
    code, err = run(capsys, "train", "-c", str(config))
    assert code == 2
    assert "the training loss is" in err and "training stopped" in err
    assert not (tmp_path / "runs/toy/toy/fold0/seed0/result.json").exists()


def test_an_ordinal_grade_absent_from_train_is_warned(tmp_path, capsys):
    write_competition(tmp_path, ["0", "2"] * 4)
    config = write_toy_config(tmp_path, competition={"task": "ordinal", "metric": "qwk"})
    code, err = run(capsys, "folds", "-c", str(config))
    assert code == 0
    assert "grade(s) [1] of the grades [0, 1, 2] have no row in the train table" in err
    assert "cannot be predicted" in err


def test_binary_auc_with_a_label_submission_is_refused_at_config_time(tmp_path, capsys):
    write_competition(tmp_path, ["neg", "pos"] * 4)
    config = write_toy_config(tmp_path, competition={"task": "binary", "metric": "auc"})
    code, err = run(capsys, "folds", "-c", str(config))
    assert code == 2 and "competition.metric 'auc' scores probabilities" in err
    assert "submission_format: proba" in err
    assert not (tmp_path / "runs").exists()


def test_a_gpu_the_machine_lacks_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("podium.units.devices.cuda_device_count", lambda: 1)
    write_competition(tmp_path, ["a", "b"] * 4)
    config = write_toy_config(tmp_path)
    code, err = run(capsys, "train", "-c", str(config), "--devices", "0,7")
    assert code == 2 and "this machine has CUDA devices 0..0; device(s) 7 do not exist" in err
    assert not list((tmp_path / "runs").rglob("result.json"))


def test_a_jpeg_cut_short_with_an_end_marker_is_refused(tmp_path, capsys):
    comp = write_competition(tmp_path, ["a", "b"] * 4)
    rng = np.random.default_rng(0)
    ok, buf = cv2.imencode(".jpg", (rng.random((32, 32, 3)) * 255).astype(np.uint8))
    data = buf.tobytes()
    (comp / "train" / "r001.png").unlink()
    (comp / "train" / "r001.jpg").write_bytes(data[: len(data) // 2] + b"\xff\xd9")
    for i in range(8):
        if i != 1:
            (comp / "train" / f"r{i:03d}.png").rename(comp / "train" / f"r{i:03d}.jpg")
    config = write_toy_config(tmp_path, competition={"train_images": "train/{id}.jpg"})
    code, err = run(capsys, "train", "-c", str(config))
    assert code == 2 and "r001.jpg (corrupt JPEG: Corrupt JPEG data: premature end" in err


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_exif_orientation_is_applied_to_png_as_to_jpeg(tmp_path, fmt):
    from PIL import Image

    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = 255  # left half white
    pil = Image.fromarray(img)
    exif = pil.getexif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to display
    pil.save(tmp_path / f"phone.{fmt}", exif=exif)
    shown = read_image(tmp_path / f"phone.{fmt}")
    assert shown.shape == (40, 20, 3)  # as a viewer shows it
    assert shown[:15].mean() > 200 and shown[25:].mean() < 50  # the white half is on top


@pytest.mark.parametrize("name", ["cache", "ensemble", "folds.csv"])
def test_an_experiment_named_like_podiums_own_folders_is_refused(tmp_path, capsys, name):
    write_competition(tmp_path, ["a", "b"] * 4)
    config = write_toy_config(tmp_path, name=name)
    code, err = run(capsys, "folds", "-c", str(config))
    assert code == 2 and f"name {name!r} is taken by podium's own runs/toy/{name}" in err
