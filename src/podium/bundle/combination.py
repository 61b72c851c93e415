"""The chosen candidate of an ensemble as a bundle carries it: refused unless the ensemble is
current with its members, then the record (chosen, kind, members, cv) that `podium predict`
recombines the members by. Called by `podium export` for row ensemble and mask ensembles
alike, which add what their kind of candidate needs (weights, meta-models, gates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podium.artifacts import read_json
from podium.errors import ArtifactError


def chosen_combination(
    out: Path, fresh: bool, members: list[str], made_from: str, source: Path | str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the chosen candidate's scores.json entry, the combination record) of the ensemble in
    `out`; `fresh`: its stamp says it is current with its members' `made_from`."""
    if not fresh:
        raise ArtifactError(
            f"{out}: the ensemble is missing or older than its members' {made_from}; make it "
            f"with: podium ensemble -c {source}"
        )
    scores = read_json(out / "scores.json")
    chosen = scores["chosen"]
    cand = scores["candidates"][chosen]
    combination = {
        "chosen": chosen,
        "kind": cand["kind"],
        "members": members,
        "cv": scores.get("cv"),
    }
    return cand, combination
