"""Where torch's process-group API may be used, which import-linter cannot say: its forbidden
contracts take whole external packages only (`torch`, not `torch.distributed`). The optuna and
xgboost rules are import-linter contracts (pyproject.toml); this walks the AST of src/podium
for every import of, and attribute path into, `torch.distributed` and `torch.nn.parallel`
(DistributedDataParallel), function-level imports included."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "podium"

# library -> (the modules allowed to use it, where it belongs and why)
RULES: dict[str, tuple[frozenset[str], str]] = {
    "torch.distributed": (
        frozenset({"podium.engine.distributed"}),
        "process groups, ranks and collectives belong in podium.engine.distributed; ask its "
        "functions (current(), on_main, gather_rows, ...)",
    ),
    "torch.nn.parallel": (
        frozenset({"podium.engine.distributed"}),
        "DistributedDataParallel wraps the model in podium.engine.distributed.step_module",
    ),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def dotted(node: ast.expr) -> str | None:
    """`torch.distributed.barrier` for an attribute chain on a name, else None."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(names)])


def used_paths(tree: ast.AST) -> set[str]:
    """Every dotted module path an import names (`from a import b` names `a` and `a.b`), and
    every attribute chain on a name (`torch.distributed.is_initialized()`)."""
    paths: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            paths.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            paths.add(node.module)
            paths.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Attribute) and (path := dotted(node)):
            paths.add(path)
    return paths


def users() -> dict[str, set[str]]:
    """library -> the podium modules that use it."""
    found: dict[str, set[str]] = {library: set() for library in RULES}
    for path in sorted(PACKAGE.rglob("*.py")):
        paths = used_paths(ast.parse(path.read_text(), filename=str(path)))
        for library in RULES:
            if any(p == library or p.startswith(library + ".") for p in paths):
                found[library].add(module_name(path))
    return found


def test_torch_distributed_stays_in_the_engine():
    found = users()
    wrong = {library: sorted(found[library] - allowed) for library, (allowed, _) in RULES.items()}
    messages = [
        f"{', '.join(modules)} use {library}: {RULES[library][1]}"
        for library, modules in wrong.items()
        if modules
    ]
    assert not messages, "\n".join(messages)


def test_the_rules_name_modules_that_still_use_them():
    """An allowed module that stopped using its library leaves a stale rule: drop it."""
    found = users()
    stale = {library: sorted(allowed - found[library]) for library, (allowed, _) in RULES.items()}
    assert not any(stale.values()), f"allowed but no longer using: {stale}"


def test_the_walk_sees_every_form():
    code = (
        "import torch\n"
        "def f():\n"
        "    from torch import distributed\n"
        "    return torch.nn.parallel.DistributedDataParallel\n"
    )
    paths = used_paths(ast.parse(code))
    assert {"torch.distributed", "torch.nn.parallel.DistributedDataParallel"} <= paths
