"""ARCHITECTURE.md's layer lists are the import-linter contracts' (pyproject.toml): every
`layers` contract has a block in the file with the same layers in the same order, and the
file has no block for a contract that does not exist."""

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # mypy and pytest bring tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```layers (\S+)\n(.*?)^```", re.S | re.M)


def documented() -> dict[str, list[str]]:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    return {
        m[1]: [line.strip() for line in m[2].splitlines() if line.strip()]
        for m in BLOCK.finditer(text)
    }


def contracted() -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    out = {}
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] != "layers":
            continue
        containers = contract.get("containers") or [config["tool"]["importlinter"]["root_package"]]
        for container in containers:
            out[container] = [layer.strip() for layer in contract["layers"]]
    return out


def test_every_layer_contract_is_documented_as_it_is():
    doc, code = documented(), contracted()
    assert set(doc) == set(code), (
        f"ARCHITECTURE.md documents layers of {sorted(doc)}, pyproject.toml contracts "
        f"{sorted(code)}"
    )
    for name, layers in code.items():
        assert doc[name] == layers, f"ARCHITECTURE.md's layers of {name} differ from pyproject.toml"


def test_the_blocks_are_found():
    assert "podium" in documented() and len(documented()) >= 5
