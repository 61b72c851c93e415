"""The board as one self-contained HTML file: tables rendered here (escaped), the plots drawn
in the browser by plotly.js, inlined whole (no network, no server), from the JSON data block.

Why plotly rather than matplotlib SVG: the scatter's points name their submission on hover,
curves zoom, and drawing in the browser keeps generation fast, since Python writes numbers,
not hundreds of figures (a unit's learning curves are drawn when its experiment is opened).
The price is ~4.6 MB of inlined plotly.js per page. Sorting is plain JS (static/board.js).
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from podium.board.collect import Board, ExperimentView, SubmissionView
from podium.board.sections import (
    candidates,
    cell,
    duration,
    esc,
    fit_text,
    num,
    study,
    submissions,
)
from podium.records import RunScores


class Page:
    """The page of one board, written to `out` (links are relative to its folder)."""

    def __init__(self, board: Board, out: Path) -> None:
        self.board = board
        self.out_dir = Path(out).resolve().parent

    def link(self, path: Path, label: str | None = None) -> str:
        rel = os.path.relpath(Path(path).resolve(), self.out_dir)
        return f'<a href="{esc(quote(rel))}">{esc(label or Path(path).name)}</a>'

    # ---- experiments ------------------------------------------------------------------------
    def checkpoints(self, e: ExperimentView) -> str:
        s = e.scores
        if s is None:
            return ""
        parts = []
        if s.other_checkpoint is not None:
            used = s.checkpoint or "used"
            parts += [
                f"{used} {num(s.cv)}",
                f"{s.other_checkpoint[0]} {num(s.other_checkpoint[1].score)}",
            ]
        parts += [f"{name} {num(b.score)}" for name, b in s.snapshots.items()]
        if e.swa is not None:
            parts.append(f"swa (valid) {num(e.swa)}")
        if s.nested is not None:
            parts.append(f"nested {num(s.nested.score)}")
        return " · ".join(parts)

    def experiment_row(self, e: ExperimentView, subs: list[SubmissionView]) -> str:
        s: RunScores | None = e.scores
        cv = s.cv if s else None
        final = s.final if s else None
        folds = " ".join(num(f.score) for _, f in sorted(final.folds.items())) if final else ""
        diff = ", ".join(f"{k}: {v}" for k, v in e.diff) if e.diff else ""
        diff_title = diff if e.diff is not None else "no extends: base (or no config file)"
        state = e.freshness.state
        units = f"{e.units_done}/{e.units_planned}" if e.units_planned else ""
        gain = s.tta_gain if s else None
        best_lb = max((x.lb.public for x in subs if x.lb and x.lb.public is not None), default=None)
        name = f'<a href="#details-{esc(e.name)}">{esc(e.name)}</a>'
        return (
            f'<tr data-experiment="{esc(e.name)}" data-freshness="{state}">'
            + cell(name, e.name, "name")
            + cell(esc(e.kind), e.kind)
            + cell(esc(e.task), e.task)
            + cell(esc(e.model), e.model)
            + cell(esc(f"{e.plan} ({units} units)" if e.plan else ""), e.units_planned)
            + cell(esc(diff[:90] + ("..." if len(diff) > 90 else "")), diff, "diff", diff_title)
            + cell(
                f"{num(cv)}" + (f" <small>± {num(final.fold_std)}</small>" if final else "")
                if s
                else "",
                "" if cv is None else cv,
                "num",
            )
            + cell(esc(folds), folds, "folds")
            + cell(esc(self.checkpoints(e)), self.checkpoints(e))
            + cell(num(gain, 4) if gain is not None else "", "" if gain is None else gain, "num")
            + cell(duration(e.train_seconds), e.train_seconds or "", "num")
            + cell(esc(e.freshness.label), state, f"freshness {state}", e.note or "")
            + cell(
                f"{len(subs)}" + (f" <small>LB {num(best_lb)}</small>" if best_lb else ""),
                len(subs),
                "num",
            )
            + "</tr>"
        )

    def experiments(self) -> str:
        heads = [
            ("experiment", "text"), ("kind", "text"), ("task", "text"), ("model @ size", "text"),
            ("epochs x folds x seeds", "num"), ("config vs its base", "text"),
            (f"CV {self.board.metric} ± fold std", "num"), ("per fold", "text"),
            ("checkpoints", "text"), ("TTA gain", "num"), ("train time", "num"),
            ("freshness", "text"), ("submissions", "num"),
        ]  # fmt: skip
        head = "".join(f'<th data-type="{t}">{esc(h)}</th>' for h, t in heads)
        rows = "".join(
            self.experiment_row(e, [s for s in self.board.submissions if s.experiment == e.name])
            for e in self.board.experiments
        )
        return (
            f'<table id="experiments" class="sortable"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )

    def details(self, e: ExperimentView) -> str:
        parts = [
            f'<details class="experiment" id="details-{esc(e.name)}" data-experiment="{esc(e.name)}">'
        ]
        parts.append(
            f"<summary>{esc(e.name)} <small>{esc(e.kind)} · {esc(e.freshness.label)}</small></summary>"
        )
        links = [self.link(e.run_dir, "run folder")] + [self.link(p) for p in e.links]
        if e.config_file is not None:
            links.append(self.link(e.config_file, f"{e.config_file.name} (its config)"))
        parts.append(f'<p class="links">{" · ".join(links)}</p>')
        if e.kind not in ("ensemble", "tabular") and not any(p.suffix == ".ipynb" for p in e.links):
            parts.append(
                f"<p><small>OOF notebook: <code>PODIUM_RUN_DIR={esc(e.run_dir)} jupyter nbconvert "
                f"--to html --execute notebooks/oof_analysis.ipynb --output-dir {esc(e.run_dir)}"
                "</code></small></p>"
            )
        if e.units:
            parts.append('<div class="curves"></div>')
            parts.append(self.units_table(e))
        if e.scores is not None and e.scores.views:
            rows = "".join(
                f"<tr><td>{esc(v)}</td><td>{num(b.score)}</td><td>{num(b.valid_loss)}</td></tr>"
                for v, b in e.scores.views.items()
            )
            parts.append(
                f"<table><thead><tr><th>TTA view</th><th>{esc(e.scores.metric)}</th><th>{esc(e.scores.valid_loss_name)}</th></tr></thead><tbody>{rows}</tbody></table>"
            )
        decision = e.scores.final.decision if e.scores and e.scores.final else None
        if decision is not None:
            parts.append(
                f"<p>Decision ({esc(decision.kind)}) fitted on OOF rows: CV "
                f"{num(decision.cv_score)} (fold k decided by what the other folds fitted); "
                f"fitted on every row {num(decision.fit_score)} (in-sample, optimistic).</p>"
            )
        if e.scores is not None and e.scores.candidates:
            parts.append(candidates(e.scores))
        parts.append("</details>")
        return "".join(parts)

    def units_table(self, e: ExperimentView) -> str:
        rows = "".join(
            f"<tr><td>{u.fold}</td><td>{u.seed}</td><td>{len(u.history)}</td>"
            f"<td>{num(u.result.get('best_score'))}</td><td>{int(u.result['best_epoch']) if 'best_epoch' in u.result else ''}</td>"
            f"<td>{num(u.result.get('final_score'))}</td><td>{duration(u.train_seconds)}</td>"
            f"<td>{'finished' if u.finished else 'not finished'}</td>"
            f"<td>{self.link(u.path / 'history.csv')}</td></tr>"
            for u in e.units
        )
        head = "<th>fold</th><th>seed</th><th>epochs</th><th>best</th><th>best epoch</th><th>last</th><th>time</th><th>state</th><th>history</th>"
        return f'<table class="units"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'

    # ---- the page ---------------------------------------------------------------------------
    def data(self) -> dict[str, Any]:
        curves = {
            e.name: [
                {"unit": f"fold{u.fold}/seed{u.seed}", "rows": u.history}
                for u in e.units
                if u.history
            ]
            for e in self.board.experiments
        }
        fits = [
            {
                "label": f.label,
                "points": f.points,
                "slope": f.slope,
                "intercept": f.intercept,
                "r": f.r,
            }
            for f in self.board.fits
        ]
        return {"metric": self.board.metric, "curves": curves, "fits": fits}

    def render(self) -> str:
        b = self.board
        direction = "higher is better" if b.greater_is_better else "lower is better"
        fresh = sum(e.freshness.state == "fresh" for e in b.experiments)
        problems = "".join(f"<li>{esc(p.name)}: {esc(msg)}</li>" for p, msg in b.problems.items())
        data = json.dumps(self.data(), default=str).replace("</", "<\\/")
        static = resources.files("podium.board") / "static"
        from plotly.offline import get_plotlyjs

        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>podium board: {esc(b.competition)}</title>
<style>{(static / "board.css").read_text()}</style></head><body>
<h1>podium board: {esc(b.competition)}</h1>
<p class="meta">CV metric <b>{esc(b.metric)}</b> ({direction}) · {len(b.experiments)} experiments ({fresh} fresh) · {len(b.submissions)} submissions · {len(b.studies)} tune studies · generated {b.generated:%Y-%m-%d %H:%M:%S} UTC</p>
{f'<p class="meta">Every config read with the overrides <code>{esc(" ".join(b.overrides))}</code> (the config columns show the files as written).</p>' if b.overrides else ""}
<h2>Experiments</h2><p class="hint">Click a column to sort; an experiment's name opens its details below.</p>
{self.experiments()}
<h2>Submissions</h2>
<div id="cv-lb-scatter" class="plot"></div>
<ul class="fits">{"".join(fit_text(f) for f in b.fits)}</ul>
{submissions(b.submissions, self.link)}
<h2>Details</h2>{"".join(self.details(e) for e in b.experiments)}
<h2>Tune studies</h2>{"".join(study(st, self.link) for st in b.studies) or "<p>No tune study.</p>"}
{f"<h2>Config files that did not load</h2><ul>{problems}</ul>" if problems else ""}
<script id="board-data" type="application/json">{data}</script>
<script>{get_plotlyjs()}</script>
<script>{(static / "board.js").read_text()}</script>
</body></html>
"""


def render_board(board: Board, out: Path) -> str:
    return Page(board, out).render()
