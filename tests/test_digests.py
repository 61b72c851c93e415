"""Content digests (#23 item 17): an image rewritten in place with its size and mtime
restored is seen, by the decode cache and by every stage's freshness; each file is hashed once
and then remembered by its stat key, also across processes (the store beside the caches)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from factories import write_competition, write_toy_config
from podium import digests
from podium.artifacts import read_json
from podium.cli import main
from podium.digests import STORE_NAME, DigestStore


def rewrite_keeping_size_and_mtime(path: Path, data: bytes) -> None:
    """What `cp -p` or a restored timestamp leaves: same inode, size and mtime, new bytes."""
    st = path.stat()
    assert len(data) == st.st_size
    with open(path, "r+b") as f:  # in place: the inode stays
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
    )


def same_size_png(folder: Path) -> tuple[Path, bytes, int]:
    """An image of `folder` and a flat 8x8 PNG of another grey level with its byte count."""
    for path in sorted(folder.glob("*.png")):
        old = int(cv2.imread(str(path))[0, 0, 0])
        for level in range(256):
            data = cv2.imencode(".png", np.full((8, 8, 3), level, np.uint8))[1].tobytes()
            if level != old and len(data) == path.stat().st_size:
                return path, data, level
    raise AssertionError("no flat PNG of the same size")


def test_a_test_image_rewritten_with_its_size_and_mtime_is_predicted_again(tmp_path, capsys):
    comp = write_competition(tmp_path, ["a", "b"] * 4, n_test=4)
    config = write_toy_config(tmp_path)
    assert main(["infer", "-c", str(config)]) == 0
    run = tmp_path / "runs/toy/toy"
    before = read_json(run / "infer.json")["fingerprint"]
    first = pd.read_parquet(run / "test.parquet").set_index("id")
    # a test image gets another grey level: same size, same mtime, same inode
    image, data, _ = same_size_png(comp / "test")
    rewrite_keeping_size_and_mtime(image, data)
    capsys.readouterr()
    assert main(["infer", "-c", str(config)]) == 0
    assert "decoding 4 images" in capsys.readouterr().out  # a new cache: the new bytes
    assert read_json(run / "infer.json")["fingerprint"] != before
    again = pd.read_parquet(run / "test.parquet").set_index("id")
    assert not np.allclose(again.loc[image.stem], first.loc[image.stem])  # the new pixels
    np.testing.assert_allclose(again.drop(image.stem), first.drop(image.stem))


def test_a_train_image_rewritten_so_makes_the_units_stale_and_force_uses_its_pixels(
    tmp_path, capsys
):
    comp = write_competition(tmp_path, ["a", "b"] * 4)
    config = write_toy_config(tmp_path)
    assert main(["train", "-c", str(config)]) == 0
    image, data, level = same_size_png(comp / "train")
    rewrite_keeping_size_and_mtime(image, data)
    capsys.readouterr()
    assert main(["train", "-c", str(config)]) == 2
    assert "images changed since" in capsys.readouterr().err
    assert main(["train", "-c", str(config), "--force"]) == 0
    caches = sorted((tmp_path / "runs/toy/cache").glob("train-32x32-*.npy"), key=os.path.getmtime)
    assert len(caches) == 2  # a new cache for the new content
    pixels = np.load(caches[-1])
    assert (pixels[int(image.stem[1:])] == level).all()  # the image's new grey level


def test_a_digest_is_computed_once_and_remembered_across_processes(tmp_path, monkeypatch):
    files = []
    for i in range(3):
        files.append(tmp_path / f"f{i}.bin")
        files[-1].write_bytes(bytes([i]) * 1000)
    store = tmp_path / STORE_NAME
    read = []
    real = digests.digest_file
    monkeypatch.setattr(digests, "digest_file", lambda p: read.append(p.name) or real(p))
    first = DigestStore(store).digests(files)
    assert sorted(read) == ["f0.bin", "f1.bin", "f2.bin"] and store.is_file()
    read.clear()
    assert DigestStore(store).digests(files) == first and read == []  # a new process: no reads
    rewrite_keeping_size_and_mtime(files[1], bytes([9]) * 1000)
    again = DigestStore(store).digests([*files, tmp_path / "missing.bin"])
    assert read == ["f1.bin"]  # its ctime moved: only it is read again
    assert again[0] == first[0] and again[1] != first[1] and again[3] is None


def test_a_store_is_never_written_into_a_folder_it_would_have_to_make(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"x")
    store = tmp_path / "runs" / "cache" / STORE_NAME
    assert DigestStore(store).digests([f])[0] is not None
    assert not (tmp_path / "runs").exists()
