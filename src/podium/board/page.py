"""The board as one self-contained HTML file: tables rendered here (escaped), the plots drawn
in the browser by plotly.js, inlined whole (no network, no server), from the JSON data block.

Why plotly rather than matplotlib SVG: the scatter's points name their submission on hover,
curves zoom, and drawing in the browser keeps generation fast, since Python writes numbers,
not hundreds of figures (a unit's learning curves are drawn when its experiment is opened).
The price is ~4.6 MB of inlined plotly.js per page. Sorting is plain JS (static/board.js).
"""

from __future__ import annotations

import html
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from podium.board.collect import Board, CvLbFit, ExperimentView, SubmissionView
from podium.records import RunScores, TuneStudy


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    h, m = divmod(s // 60, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s % 60:02d}s" if m else f"{s}s"


def _cell(text: str, sort: Any = None, cls: str = "", title: str = "") -> str:
    attrs = f' data-sort="{_e(sort)}"' if sort is not None else ""
    attrs += f' class="{cls}"' if cls else ""
    attrs += f' title="{_e(title)}"' if title else ""
    return f"<td{attrs}>{text}</td>"


class Page:
    def __init__(self, board: Board, out: Path) -> None:
        self.board = board
        self.out_dir = Path(out).resolve().parent

    def link(self, path: Path, label: str | None = None) -> str:
        rel = os.path.relpath(Path(path).resolve(), self.out_dir)
        return f'<a href="{_e(quote(rel))}">{_e(label or Path(path).name)}</a>'

    # ---- experiments ------------------------------------------------------------------------
    def checkpoints(self, e: ExperimentView) -> str:
        s = e.scores
        if s is None:
            return ""
        parts = []
        if s.other_checkpoint is not None:
            used = "last" if s.other_checkpoint[0] == "best" else "best"
            parts += [
                f"{used} {_num(s.cv)}",
                f"{s.other_checkpoint[0]} {_num(s.other_checkpoint[1].value)}",
            ]
        parts += [f"{name} {_num(b.value)}" for name, b in s.snapshots.items()]
        if e.swa is not None:
            parts.append(f"swa (valid) {_num(e.swa)}")
        if s.nested is not None:
            parts.append(f"nested {_num(s.nested.value)}")
        return " · ".join(parts)

    def experiment_row(self, e: ExperimentView, subs: list[SubmissionView]) -> str:
        s: RunScores | None = e.scores
        cv = s.cv if s else None
        folds = " ".join(_num(v) for _, v in sorted(s.final.folds.items())) if s else ""
        diff = ", ".join(f"{k}: {v}" for k, v in e.diff) if e.diff else ""
        diff_title = diff if e.diff is not None else "no extends: base (or no config file)"
        state = e.freshness.state
        units = f"{e.units_done}/{e.units_planned}" if e.units_planned else ""
        gain = s.tta_gain if s else None
        best_lb = max((x.lb.public for x in subs if x.lb and x.lb.public is not None), default=None)
        name = f'<a href="#details-{_e(e.name)}">{_e(e.name)}</a>'
        return (
            f'<tr data-experiment="{_e(e.name)}" data-freshness="{state}">'
            + _cell(name, e.name, "name")
            + _cell(_e(e.kind), e.kind)
            + _cell(_e(e.task), e.task)
            + _cell(_e(e.model), e.model)
            + _cell(_e(f"{e.plan} ({units} units)" if e.plan else ""), e.units_planned)
            + _cell(_e(diff[:90] + ("..." if len(diff) > 90 else "")), diff, "diff", diff_title)
            + _cell(
                f"{_num(cv)} <small>± {_num(s.final.fold_std)}</small>" if s else "",
                "" if cv is None else cv,
                "num",
            )
            + _cell(_e(folds), folds, "folds")
            + _cell(_e(self.checkpoints(e)), self.checkpoints(e))
            + _cell(_num(gain, 4) if gain is not None else "", "" if gain is None else gain, "num")
            + _cell(_duration(e.train_seconds), e.train_seconds or "", "num")
            + _cell(_e(e.freshness.label), state, f"freshness {state}", e.note or "")
            + _cell(
                f"{len(subs)}" + (f" <small>LB {_num(best_lb)}</small>" if best_lb else ""),
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
        head = "".join(f'<th data-type="{t}">{_e(h)}</th>' for h, t in heads)
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
            f'<details class="experiment" id="details-{_e(e.name)}" data-experiment="{_e(e.name)}">'
        ]
        parts.append(
            f"<summary>{_e(e.name)} <small>{_e(e.kind)} · {_e(e.freshness.label)}</small></summary>"
        )
        links = [self.link(e.run_dir, "run folder")] + [self.link(p) for p in e.links]
        if e.config_file is not None:
            links.append(self.link(e.config_file, f"{e.config_file.name} (its config)"))
        parts.append(f'<p class="links">{" · ".join(links)}</p>')
        if e.kind not in ("ensemble", "tabular") and not any(p.suffix == ".ipynb" for p in e.links):
            parts.append(
                f"<p><small>OOF notebook: <code>PODIUM_RUN_DIR={_e(e.run_dir)} jupyter nbconvert "
                f"--to html --execute notebooks/oof_analysis.ipynb --output-dir {_e(e.run_dir)}"
                "</code></small></p>"
            )
        if e.units:
            parts.append('<div class="curves"></div>')
            parts.append(self.units_table(e))
        if e.scores is not None and e.scores.views:
            rows = "".join(
                f"<tr><td>{_e(v)}</td><td>{_num(b.value)}</td><td>{_num(b.log_loss)}</td></tr>"
                for v, b in e.scores.views.items()
            )
            parts.append(
                f"<table><thead><tr><th>TTA view</th><th>{_e(e.scores.metric)}</th><th>log_loss</th></tr></thead><tbody>{rows}</tbody></table>"
            )
        if e.scores is not None and e.scores.candidates:
            parts.append(self.candidates(e.scores))
        parts.append("</details>")
        return "".join(parts)

    def units_table(self, e: ExperimentView) -> str:
        rows = "".join(
            f"<tr><td>{u.fold}</td><td>{u.seed}</td><td>{len(u.history)}</td>"
            f"<td>{_num(u.result.get('best_score'))}</td><td>{u.result.get('best_epoch', '')}</td>"
            f"<td>{_num(u.result.get('final_score'))}</td><td>{_duration(u.train_seconds)}</td>"
            f"<td>{'finished' if u.finished else 'not finished'}</td>"
            f"<td>{self.link(u.path / 'history.csv')}</td></tr>"
            for u in e.units
        )
        head = "<th>fold</th><th>seed</th><th>epochs</th><th>best</th><th>best epoch</th><th>last</th><th>time</th><th>state</th><th>history</th>"
        return f'<table class="units"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'

    def candidates(self, s: RunScores) -> str:
        rows = "".join(
            f"<tr{' class=chosen' if c.name == s.chosen else ''}><td>{_e(c.name)}</td><td>{_e(c.kind)}</td>"
            f"<td>{_num(c.score.value)}</td><td>{_num(c.score.log_loss)}</td>"
            f"<td>{_num(c.score.fold_mean)} ± {_num(c.score.fold_std)}</td><td>{_e(c.note)}</td></tr>"
            for c in s.candidates
        )
        out = (
            f'<table class="candidates"><thead><tr><th>candidate</th><th>kind</th><th>{_e(s.metric)}</th>'
            f"<th>log_loss</th><th>fold mean ± std</th><th>note</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        if s.nested is not None:
            out += f"<p>Chosen <b>{_e(s.chosen)}</b>; nested-selection CV {_num(s.nested.value)} (log_loss {_num(s.nested.log_loss)}).</p>"
        vs = s.vs_best_member
        if vs is not None:
            gains = "; ".join(
                f"{_e(n)} gain {_num(o)} (95% {_num(lo)} to {_num(hi)})"
                for n, (o, lo, hi) in vs.gains.items()
            )
            out += (
                f"<p>Paired with the best member {_e(vs.member)} on the same rows: fixes {vs.fixed}, "
                f"breaks {vs.broken} (McNemar p={_num(vs.mcnemar_p, 2)}); {gains}.</p>"
            )
        return out

    # ---- submissions, studies -------------------------------------------------------------
    def submissions(self) -> str:
        if not self.board.submissions:
            return "<p>No submissions yet (<code>podium submit</code>).</p>"
        rows = []
        for s in sorted(self.board.submissions, key=lambda s: s.made, reverse=True):
            local = s.local or {}
            lb = s.lb
            rows.append(
                f'<tr data-file="{_e(s.path.name)}">'
                + _cell(self.link(s.path), s.path.name)
                + _cell(_e(s.experiment), s.experiment)
                + _cell(s.made.strftime("%Y-%m-%d %H:%M:%S"), s.made.isoformat())
                + _cell(_num(s.cv), s.cv if s.cv is not None else "", "num")
                + "".join(
                    _cell(_num(local.get(k)), local.get(k, ""), "num", s.local_error or "")
                    for k in ("all", "public", "private")
                )
                + _cell(
                    _num(lb.public) if lb else "",
                    lb.public if lb and lb.public is not None else "",
                    "num",
                )
                + _cell(
                    _num(lb.private) if lb else "",
                    lb.private if lb and lb.private is not None else "",
                    "num",
                )
                + "</tr>"
            )
        head = "".join(
            f'<th data-type="{t}">{h}</th>'
            for h, t in (
                ("file", "text"), ("experiment", "text"), ("made (UTC)", "text"), ("CV", "num"),
                ("local all", "num"), ("local Public", "num"), ("local Private", "num"),
                ("LB public", "num"), ("LB private", "num"),
            )
        )  # fmt: skip
        return f'<table id="submissions" class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'

    def fit_text(self, f: CvLbFit) -> str:
        n = len(f.points)
        text = f"{_e(f.label)}: {n} point{'s' if n != 1 else ''}"
        if f.slope is not None:
            text += f", score = {f.slope:.3f} x CV {'+' if (f.intercept or 0) >= 0 else '-'} {abs(f.intercept or 0):.4f}"
        if f.r is not None:
            text += f", Pearson r = {f.r:.3f}"
        return f"<li>{text}</li>"

    def studies(self) -> str:
        out = []
        for st in self.board.studies:
            out.append(self.study(st))
        return "".join(out) or "<p>No tune study.</p>"

    def study(self, st: TuneStudy) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in st.trials.items())
        best = (
            f"best trial {st.best_trial}: {_num(st.best_value)} with {_e(st.best_params)}"
            if st.best_trial is not None
            else "no completed trial"
        )
        holdout = ""
        if st.holdout:
            holdout = f"; on the untuned folds {st.holdout.get('holdout_folds')}: {_num(st.holdout.get('holdout_cv'))} (tuned folds {_num(st.holdout.get('tuned_value'))})"
        rows = st.best_rows()
        columns = [c for c in (rows[0].keys() if rows else []) if c not in ("state",)]
        body = "".join(
            "<tr>" + "".join(f"<td>{_e(r.get(c, ''))}</td>" for c in columns) + "</tr>"
            for r in rows
        )
        table = (
            f"<table><thead><tr>{''.join(f'<th>{_e(c)}</th>' for c in columns)}</tr></thead><tbody>{body}</tbody></table>"
            if rows
            else ""
        )
        links = " · ".join(
            self.link(st.path / f)
            for f in ("trials.csv", "summary.json", "best.yaml")
            if (st.path / f).exists()
        )
        return (
            f'<div class="study" data-study="{_e(st.name)}"><h3>{_e(st.name)} <small>({_e(st.direction)}; {_e(counts)})</small></h3>'
            f"<p>{best}{holdout}</p><p class=links>{links}</p>{table}</div>"
        )

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
        problems = "".join(f"<li>{_e(p.name)}: {_e(msg)}</li>" for p, msg in b.problems.items())
        data = json.dumps(self.data(), default=str).replace("</", "<\\/")
        static = resources.files("podium.board") / "static"
        from plotly.offline import get_plotlyjs

        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>podium board: {_e(b.competition)}</title>
<style>{(static / "board.css").read_text()}</style></head><body>
<h1>podium board: {_e(b.competition)}</h1>
<p class="meta">CV metric <b>{_e(b.metric)}</b> ({direction}) · {len(b.experiments)} experiments ({fresh} fresh) · {len(b.submissions)} submissions · {len(b.studies)} tune studies · generated {b.generated:%Y-%m-%d %H:%M:%S} UTC</p>
<h2>Experiments</h2><p class="hint">Click a column to sort; an experiment's name opens its details below.</p>
{self.experiments()}
<h2>Submissions</h2>
<div id="cv-lb-scatter" class="plot"></div>
<ul class="fits">{"".join(self.fit_text(f) for f in b.fits)}</ul>
{self.submissions()}
<h2>Details</h2>{"".join(self.details(e) for e in b.experiments)}
<h2>Tune studies</h2>{self.studies()}
{f"<h2>Config files that did not load</h2><ul>{problems}</ul>" if problems else ""}
<script id="board-data" type="application/json">{data}</script>
<script>{get_plotlyjs()}</script>
<script>{(static / "board.js").read_text()}</script>
</body></html>
"""


def render_board(board: Board, out: Path) -> str:
    return Page(board, out).render()
