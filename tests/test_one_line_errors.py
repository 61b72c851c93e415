"""Bad input a user can hand podium is one line on stderr (exit 2), never a traceback: a
binary file as the config, an override that is not YAML, a train.csv row with an extra field,
a 0-byte image, `data.image_size: 0`, and a bundle whose manifest is newer than this podium
(the message says which of the version and the format is newer)."""

from __future__ import annotations

import json

import pytest

from factories import write_competition, write_toy_config
from podium import __version__
from podium.bundle.manifest import FORMAT, MANIFEST
from podium.cli import main

LABELS = ["a", "b"] * 4


def one_line_error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_a_binary_file_as_config(tmp_path, capsys):
    binary = tmp_path / "model.pt"
    binary.write_bytes(bytes(range(256)) * 4)
    err = one_line_error(capsys, "folds", "-c", str(binary))
    assert "model.pt: not a YAML config" in err


@pytest.mark.parametrize("override", ["train.lr=[1e-3", "model.name={x: ]", "train.tta=@x"])
def test_an_override_that_is_not_yaml(tmp_path, capsys, override):
    write_competition(tmp_path, LABELS)
    config = write_toy_config(tmp_path)
    err = one_line_error(capsys, "folds", "-c", str(config), override)
    assert f"override {override!r}" in err and "not valid YAML" in err


def test_a_train_row_with_an_extra_field_names_its_line(tmp_path, capsys):
    comp = write_competition(tmp_path, LABELS)
    lines = (comp / "train.csv").read_text().splitlines()
    lines[1] += ",extra"  # the first row: pandas would shift every column silently
    (comp / "train.csv").write_text("\n".join(lines) + "\n")
    err = one_line_error(capsys, "folds", "-c", str(write_toy_config(tmp_path)))
    assert "train.csv: line 2 has 3 fields but the header has 2" in err


def test_a_zero_byte_image_is_named(tmp_path, capsys):
    comp = write_competition(tmp_path, LABELS)
    (comp / "train" / "r003.png").write_bytes(b"")
    err = one_line_error(capsys, "train", "-c", str(write_toy_config(tmp_path)))
    assert "r003.png (empty file (0 bytes))" in err


def test_an_image_size_of_zero_is_a_config_error(tmp_path, capsys):
    write_competition(tmp_path, LABELS)
    config = write_toy_config(tmp_path)
    err = one_line_error(capsys, "train", "-c", str(config), "data.image_size=0")
    assert "data.image_size: image_size must be at least 1 pixel a side" in err
    assert not (tmp_path / "runs" / "toy" / "cache").exists()  # not blamed on every image


@pytest.mark.parametrize(
    ("version", "fmt", "says"),
    [
        ("99.0.0", FORMAT, f"made by podium 99.0.0, newer than this podium {__version__}"),
        (__version__, FORMAT + 1, f"manifest format {FORMAT + 1} is newer than this podium"),
    ],
)
def test_a_newer_bundle_says_what_is_newer(tmp_path, capsys, version, fmt, says):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / MANIFEST).write_text(json.dumps({"format": fmt, "podium_version": version}))
    err = one_line_error(capsys, "predict", "--bundle", str(bundle), "--data", str(tmp_path))
    assert says in err
    assert f"{version}, newer than this podium {version}" not in err


def test_version_1_0_is_not_newer_than_1_0_0():
    from podium.bundle.manifest import version_key

    assert version_key("1.0") == version_key("1.0.0") < version_key("1.0.1")
