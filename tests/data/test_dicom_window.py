"""DICOM windows and MONOCHROME1 (#23 item 11): the file's window is applied in DICOM's order
(modality LUT, window, then MONOCHROME1's inversion), so a MONOCHROME1 X-ray and its
MONOCHROME2 twin decode alike; `data.dicom_window: none` ignores a file's window and
`[low, high]` replaces it, through the CLI and the decode cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from factories import write_dicom, write_toy_config
from podium.cli import main
from podium.data.readers import ReadSpec, read_image

TOP = 4095  # 12 bits stored


def chest(rng: np.random.Generator) -> np.ndarray:
    """A MONOCHROME2-style X-ray: dark air around a mid-grey body with a bright bone."""
    img = np.full((48, 48), 300.0)  # air, the background
    img[8:40, 10:38] = 1800  # body
    img[20:28, 20:28] = 3200  # bone
    return np.clip(img + rng.normal(0, 40, img.shape), 0, TOP).astype(np.uint16)


def grey(path: Path, **spec) -> np.ndarray:
    return read_image(path, ReadSpec(channels=1, **spec))[..., 0].astype(int)


def test_a_monochrome1_file_and_its_monochrome2_twin_decode_alike(tmp_path):
    m2 = chest(np.random.default_rng(0))
    center, width = 1750, 3600  # air to bone, in the MONOCHROME2 file's values
    window = {"WindowCenter": center, "WindowWidth": width, "VOILUTFunction": "LINEAR_EXACT"}
    a = write_dicom(tmp_path / "m2.dcm", m2, **window)
    # the same picture stored MONOCHROME1: values mirrored, and the window with them
    mirrored = {**window, "WindowCenter": TOP - center}
    b = write_dicom(tmp_path / "m1.dcm", TOP - m2, photometric="MONOCHROME1", **mirrored)
    shown2, shown1 = grey(a), grey(b)
    assert np.abs(shown1 - shown2).max() <= 1
    air = shown1[:6, :6]
    assert air.mean() < 40 and shown1[22:26, 22:26].mean() > 200  # dark air, bright bone
    assert ((shown1 == 0) | (shown1 == 255)).mean() < 0.05  # the window fits: little clipped


def test_dicom_window_none_ignores_the_files_window_and_a_pair_replaces_it(tmp_path):
    m2 = chest(np.random.default_rng(1))
    bad = write_dicom(tmp_path / "bad.dcm", m2, WindowCenter=3900, WindowWidth=100)
    plain = write_dicom(tmp_path / "plain.dcm", m2)
    assert (grey(bad) == 0).mean() > 0.9  # the file's window saturates nearly everything
    np.testing.assert_array_equal(grey(bad, dicom_window="none"), grey(plain))
    np.testing.assert_array_equal(
        grey(bad, dicom_window=(0.0, 4095.0)), grey(plain, window=(0.0, 4095.0))
    )


def test_dicom_window_from_the_config_reaches_the_decode_cache(tmp_path, capsys):
    comp = tmp_path / "toy"
    rng = np.random.default_rng(2)
    ids = [f"r{i}" for i in range(8)]
    for split, names in (("train", ids), ("test", ["t0", "t1"])):
        (comp / split).mkdir(parents=True)
        for name in names:  # MONOCHROME1 files whose window misses their data
            write_dicom(
                comp / split / f"{name}.dcm",
                TOP - chest(rng),
                photometric="MONOCHROME1",
                WindowCenter=200,
                WindowWidth=100,
            )
    pd.DataFrame({"id": ids, "label": ["a", "b"] * 4}).to_csv(comp / "train.csv", index=False)
    pd.DataFrame({"id": ["t0", "t1"], "label": "a"}).to_csv(
        comp / "sample_submission.csv", index=False
    )
    config = write_toy_config(
        tmp_path,
        competition={"train_images": "train/{id}.dcm", "test_images": "test/{id}.dcm"},
        data={"channels": 1, "image_size": 32, "dicom_window": "none"},
    )
    assert main(["train", "-c", str(config)]) == 0, capsys.readouterr().err
    (cache,) = (tmp_path / "runs/toy/cache").glob("train-32x32-*.npy")
    pixels = np.load(cache)
    assert pixels[:, :3, :3].mean() < 40  # the air is dark: percentiles, not the file's window
    assert ((pixels == 0) | (pixels == 255)).mean() < 0.05
    assert main(["folds", "-c", str(config), "data.dicom_window=[5, 1]"]) == 2
    assert "dicom_window must be [low, high] with low < high" in capsys.readouterr().err
