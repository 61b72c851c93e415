"""External rows that repeat training or test rows leak (#23 item 1): an external id that is a
train or test id is refused when the config is checked; an external image that is an exact
copy of a train or test image (at the cache size) is refused with its pairs named, and a near
copy (perceptual hash within 6 of 64 bits) is warned with its pairs, through the CLI."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from factories import write_competition, write_toy_config
from podium.cli import main
from podium.data.duplicates import NEAR_BITS, find_duplicates, image_hashes

EXTRA = {"table": "extra.csv", "images": "extra/{id}.png"}


def texture(rng: np.random.Generator, side: int = 32) -> np.ndarray:
    """A smooth random image: structure a perceptual hash can tell apart."""
    coarse = rng.random((6, 6, 3)).astype(np.float32)
    img = cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def textured_competition(root: Path) -> Path:
    comp = write_competition(root, ["a", "b"] * 4, n_test=2)
    rng = np.random.default_rng(0)
    for image in sorted((comp / "train").glob("*.png")) + sorted((comp / "test").glob("*.png")):
        cv2.imwrite(str(image), texture(rng))
    return comp


def write_external(comp: Path, ids: list[str], images: list[np.ndarray]) -> None:
    (comp / "extra").mkdir(exist_ok=True)
    for i, img in zip(ids, images, strict=True):
        cv2.imwrite(str(comp / "extra" / f"{i}.png"), img)
    pd.DataFrame({"id": ids, "label": ["a", "b", "a"][: len(ids)]}).to_csv(
        comp / "extra.csv", index=False
    )


def config(root: Path) -> Path:
    return write_toy_config(root, data={"external": [EXTRA]})


def test_external_ids_that_are_train_or_test_ids_are_refused(tmp_path, capsys):
    comp = textured_competition(tmp_path)
    rng = np.random.default_rng(1)
    for ids, split in ((["x0", "r003"], "train"), (["t001", "x1"], "test")):
        write_external(comp, ids, [texture(rng) for _ in ids])
        assert main(["folds", "-c", str(config(tmp_path))]) == 2
        err = capsys.readouterr().err
        wrong = [i for i in ids if not i.startswith("x")][0]
        assert f"extra.csv: 1 external id(s) are {split} ids: '{wrong}'" in err
        assert len(err.strip().splitlines()) == 1


def test_an_external_copy_of_a_train_or_test_image_is_refused_naming_the_pairs(tmp_path, capsys):
    comp = textured_competition(tmp_path)
    train_copy = cv2.imread(str(comp / "train" / "r002.png"))
    test_copy = cv2.imread(str(comp / "test" / "t001.png"))
    new = texture(np.random.default_rng(2))
    write_external(comp, ["x0", "x1", "x2"], [new, train_copy, test_copy])
    assert main(["train", "-c", str(config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert (
        "2 external image(s) are exact copies of competition images at the cache size 32x32" in err
    )
    assert "x1 = train r002" in err and "x2 = test t001" in err
    assert not list((tmp_path / "runs").rglob("result.json"))


def test_a_near_copy_is_warned_with_its_pair_and_training_goes_on(tmp_path, capsys):
    comp = textured_competition(tmp_path)
    original = cv2.imread(str(comp / "train" / "r005.png"))
    # re-encoded as a JPEG and brightened a little: other bytes, other pixels, the same image
    jpeg = cv2.imdecode(cv2.imencode(".jpg", original, [cv2.IMWRITE_JPEG_QUALITY, 70])[1], 1)
    near = cv2.add(jpeg, np.full_like(jpeg, 4))
    rng = np.random.default_rng(3)
    write_external(comp, ["x0", "x1"], [texture(rng), near])
    assert main(["train", "-c", str(config(tmp_path))]) == 0
    err = capsys.readouterr().err
    assert "1 external image(s) nearly duplicate competition images" in err
    assert "x1 ~ train r005" in err
    assert len(list((tmp_path / "runs").rglob("result.json"))) == 2


def test_unrelated_and_flat_images_are_not_near_duplicates():
    rng = np.random.default_rng(4)
    a = image_hashes(np.stack([texture(rng) for _ in range(40)]))
    b = image_hashes(np.stack([texture(rng) for _ in range(40)]))
    assert find_duplicates(a, b).near == [] and find_duplicates(a, b).exact == []
    flat = image_hashes(np.stack([np.full((32, 32, 3), v, np.uint8) for v in (10, 200)]))
    found = find_duplicates(flat, flat)
    assert found.exact == [(0, 0), (1, 1)] and found.near == []  # flat: exact only
    assert NEAR_BITS == 6
