"""The ensemble's comparison: every candidate (each member alone, the plain mean, the
weighted blends, the XGBoost stack) scored on the same folds, as a printed/markdown table and
a PNG plot with fold-to-fold spread, so a stack's gain can be read next to its noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from podium.artifacts import atomic_write_text, save_with
from podium.ensemble.significance import PairedComparison
from podium.metrics import ScoreBlock
from podium.scoring import report_lines


@dataclass
class Candidate:
    name: str
    kind: str  # member, mean, blend, stack
    oof: np.ndarray
    test: np.ndarray
    scores: ScoreBlock  # `podium.scoring.score_predictions` on the members' folds
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # what scores.json keeps (weights...)
    # the candidate's OOF predictions of the rows of a mask, refitted on those rows alone
    # (each of their folds predicted by what is fitted on their other folds), for the nested
    # selection; None where nothing of it is fitted on labels (a member, the mean)
    refit: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    @property
    def is_member(self) -> bool:
        return self.kind == "member"


def rank_key(c: Candidate, greater_is_better: bool) -> tuple[float, float]:
    """Sort key, best first: the competition metric, then the validation loss breaks ties."""
    m = c.scores.score
    return (-m if greater_is_better else m, c.scores.valid_loss)


def markdown_table(candidates: list[Candidate], metric: str, loss: str, chosen: str) -> str:
    head = (
        f"| candidate | kind | CV {metric} | fold mean ± std | {loss} | {loss} fold std | note |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for c in candidates:
        s = c.scores
        name = f"**{c.name}** (chosen)" if c.name == chosen else c.name
        rows.append(
            f"| {name} | {c.kind} | {s.score:.4f} | {s.fold_mean:.4f} ± {s.fold_std:.4f} "
            f"| {s.valid_loss:.4f} | {s.valid_loss_std:.4f} | {c.note} |"
        )
    return head + "\n".join(rows) + "\n"


def text_table(candidates: list[Candidate], metric: str, loss: str, chosen: str) -> str:
    width = max(len(c.name) for c in candidates) + 2
    lines = [
        f"  {'candidate':<{width}} {'kind':<7} {metric:>9} {'± fold std':>11} {loss:>9} "
        f"{'± fold std':>11}"
    ]
    for c in candidates:
        s = c.scores
        mark = "  <- chosen" if c.name == chosen else ""
        lines.append(
            f"  {c.name:<{width}} {c.kind:<7} {s.score:>9.4f} {s.fold_std:>11.4f} "
            f"{s.valid_loss:>9.4f} {s.valid_loss_std:>11.4f}{mark}"
        )
    return "\n".join(lines)


def save_plot(path: Path, candidates: list[Candidate], metric: str, loss: str, chosen: str) -> None:
    """Two panels, one bar per candidate: the metric and the validation loss, each with the
    fold-to-fold standard deviation as an error bar."""
    import matplotlib  # local for import cost: only a report draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c.name for c in candidates]
    colors = ["tab:orange" if c.name == chosen else "tab:blue" for c in candidates]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.5 * len(candidates) + 1.8), sharey=True)
    panels = [
        (metric, [c.scores.score for c in candidates], [c.scores.fold_std for c in candidates]),
        (
            loss,
            [c.scores.valid_loss for c in candidates],
            [c.scores.valid_loss_std for c in candidates],
        ),
    ]
    for ax, (title, values, errors) in zip(axes, panels, strict=True):
        ax.barh(names, values, xerr=errors, color=colors, capsize=3)
        low = min(v - e for v, e in zip(values, errors, strict=True))
        high = max(v + e for v, e in zip(values, errors, strict=True))
        pad = 0.1 * (high - low) or 0.01
        ax.set_xlim(max(0.0, low - pad), high + pad)
        ax.set_title(f"CV {title} (bar: ± fold std)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()
    fig.tight_layout()
    save_with(path, lambda p: fig.savefig(p, dpi=110))
    plt.close(fig)


def write_report(
    out_dir: Path,
    title: str,
    candidates: list[Candidate],
    metric: str,
    loss: str,
    chosen: str,
    notes: list[str],
) -> str:
    """Write report.md and report.png; return the markdown."""
    save_plot(out_dir / "report.png", candidates, metric, loss, chosen)
    text = (
        f"# {title}\n\n"
        + markdown_table(candidates, metric, loss, chosen)
        + "\n"
        + "".join(f"- {n}\n" for n in notes)
        + "\n![candidates](report.png)\n"
    )
    atomic_write_text(out_dir / "report.md", text)
    return text


def print_verdict(task: Any, scores: dict[str, Any], chose_line: str) -> None:
    """What `podium ensemble` prints after its table (row and mask ensembles alike): the
    paired comparison with the best member, `chose_line`, and the chosen decision's lines."""
    if "vs_best_member" in scores:
        vs = scores["vs_best_member"]
        print("  " + PairedComparison.from_json(vs).summary(scores["chosen"], vs["member"]))
    print(chose_line)
    for line in report_lines(task, ScoreBlock.from_json(scores["final"], task.metric.name)):
        print(f"  {line}")
