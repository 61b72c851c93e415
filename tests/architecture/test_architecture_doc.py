"""ARCHITECTURE.md's layer lists are the import-linter contracts' (pyproject.toml): every
`layers` contract has a block in the file with the same layers in the same order, and the
file has no block for a contract that does not exist."""

import importlib.util
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


def test_every_forbidden_contract_has_its_sentence():
    """Each library a `forbidden` contract (or test_contracts.py) confines is named, in
    backquotes, in ARCHITECTURE.md's "Where the heavy libraries live"."""
    spec = importlib.util.spec_from_file_location(
        "contracts", Path(__file__).parent / "test_contracts.py"
    )
    assert spec and spec.loader
    contracts = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(contracts)
    text = (ROOT / "ARCHITECTURE.md").read_text()
    section = text.split("## Where the heavy libraries live", 1)[-1].split("\n## ", 1)[0]
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    libraries = set(contracts.RULES) | {
        module
        for contract in config["tool"]["importlinter"]["contracts"]
        if contract["type"] == "forbidden"
        for module in contract["forbidden_modules"]
    }
    missing = sorted(lib for lib in libraries if f"`{lib}`" not in section)
    assert not missing, f"ARCHITECTURE.md's 'Where the heavy libraries live' omits {missing}"
