"""The GPU check's report: one Markdown page (a table with one row per GPU path, then the
output tail of every command that failed or timed out) and the same rows as JSON."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gpu_check_runs import BAD, STATUSES, Done, Row


def counts(rows: list[Row]) -> str:
    """'31 passed, 9 measured, 1 failed' (statuses in a fixed order, zeros left out)."""
    n = Counter(r.status for r in rows)
    return ", ".join(f"{n[s]} {s}" for s in STATUSES if n[s])


def markdown(header: dict[str, Any], rows: list[Row], failures: list[Done]) -> str:
    lines = [
        "# podium GPU check",
        "",
        f"{header['device']}; torch {header['torch']}, Python {header['python']}, "
        f"{header['cores']} cores; load {header['load_start']:.1f} at the start, "
        f"{header['load_end']:.1f} at the end; {header['seconds']:.0f}s of a "
        f"{header['budget']:.0f}s budget.",
        "",
        f"`{header['command']}`",
        "",
        f"**{counts(rows)}** ({len(rows)} rows)",
        "",
        "| section | path | status | figures | detail |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        figures = ", ".join(f"{k} {_number(v)}" for k, v in r.figures.items())
        lines.append(
            f"| {r.section} | {_cell(r.path)} | {r.status} | {_cell(figures)} | {_cell(r.detail)} |"
        )
    if failures:
        lines += ["", "## Commands that failed or timed out", ""]
        for done in failures:
            lines += [f"{done.summary()}", "", "```", done.tail.rstrip(), "```", ""]
    return "\n".join(lines) + "\n"


def write(out: Path, header: dict[str, Any], rows: list[Row], commands: list[Done]) -> None:
    """gpu_check.md and gpu_check.json in `out`; the Markdown shows the output's tail of
    every command that failed or timed out, the JSON every command's status and seconds."""
    out.mkdir(parents=True, exist_ok=True)
    failures = [d for d in commands if not d.ok]
    (out / "gpu_check.md").write_text(markdown(header, rows, failures))
    data = {
        **header,
        "counts": dict(Counter(r.status for r in rows)),
        "ok": not any(r.status in BAD for r in rows),
        "rows": [asdict(r) for r in rows],
        "commands": [
            {"command": d.argv, "status": d.status, "seconds": round(d.seconds, 1)}
            | ({} if d.ok else {"tail": d.tail})
            for d in commands
        ],
    }
    (out / "gpu_check.json").write_text(json.dumps(data, indent=1, default=str) + "\n")


def _number(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4g}"
    return str(v)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
