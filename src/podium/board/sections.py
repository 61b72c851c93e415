"""The board's tables other than the experiments': submissions, an ensemble's candidates,
the CV-vs-LB fits and the tune studies, as escaped HTML; and the formatting helpers the page
shares."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from podium.board.collect import CvLbFit, SubmissionView
from podium.records import RunScores, TuneStudy

Link = Callable[..., str]  # (path, label=None) -> an <a> relative to the page


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    h, m = divmod(s // 60, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s % 60:02d}s" if m else f"{s}s"


def cell(text: str, sort: Any = None, cls: str = "", title: str = "") -> str:
    attrs = f' data-sort="{esc(sort)}"' if sort is not None else ""
    attrs += f' class="{cls}"' if cls else ""
    attrs += f' title="{esc(title)}"' if title else ""
    return f"<td{attrs}>{text}</td>"


def candidates(s: RunScores) -> str:
    """An ensemble's candidate table, its nested-selection CV and its paired comparison."""
    rows = "".join(
        f"<tr{' class=chosen' if c.name == s.chosen else ''}><td>{esc(c.name)}</td><td>{esc(c.kind)}</td>"
        f"<td>{num(c.score.score)}</td><td>{num(c.score.valid_loss)}</td>"
        f"<td>{num(c.score.fold_mean)} ± {num(c.score.fold_std)}</td><td>{esc(c.note)}</td></tr>"
        for c in s.candidates
    )
    out = (
        f'<table class="candidates"><thead><tr><th>candidate</th><th>kind</th><th>{esc(s.metric)}</th>'
        f"<th>{esc(s.valid_loss_name)}</th><th>fold mean ± std</th><th>note</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    if s.nested is not None:
        out += f"<p>Chosen <b>{esc(s.chosen)}</b>; nested-selection CV {num(s.nested.score)} ({esc(s.valid_loss_name)} {num(s.nested.valid_loss)}).</p>"
    vs = s.vs_best_member
    if vs is not None:
        gains = "; ".join(
            f"{esc(n)} gain {num(o)} (95% {num(lo)} to {num(hi)})"
            for n, (o, lo, hi) in vs.gains.items()
        )
        count = (  # none for values: a regression's rows are neither right nor wrong
            f"fixes {vs.fixed}, breaks {vs.broken} (McNemar p={num(vs.mcnemar_p, 2)}); "
            if vs.fixed is not None
            else ""
        )
        out += (
            f"<p>Paired with the best member {esc(vs.member)} on the same rows: {count}{gains}.</p>"
        )
    return out


def submissions(views: list[SubmissionView], link: Link) -> str:
    """Every submission, newest first: its CV, local scores and recorded LB scores."""
    if not views:
        return "<p>No submissions yet (<code>podium submit</code>).</p>"
    rows = []
    for s in sorted(views, key=lambda s: s.made, reverse=True):
        local = s.local or {}
        lb = s.lb
        rows.append(
            f'<tr data-file="{esc(s.path.name)}">'
            + cell(link(s.path), s.path.name)
            + cell(esc(s.experiment), s.experiment)
            + cell(s.made.strftime("%Y-%m-%d %H:%M:%S"), s.made.isoformat())
            + cell(num(s.cv), s.cv if s.cv is not None else "", "num")
            + "".join(
                cell(num(local.get(k)), local.get(k, ""), "num", s.local_error or "")
                for k in ("all", "public", "private")
            )
            + cell(
                num(lb.public) if lb else "",
                lb.public if lb and lb.public is not None else "",
                "num",
            )
            + cell(
                num(lb.private) if lb else "",
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


def fit_text(f: CvLbFit) -> str:
    n = len(f.points)
    text = f"{esc(f.label)}: {n} point{'s' if n != 1 else ''}"
    if f.slope is not None:
        text += f", score = {f.slope:.3f} x CV {'+' if (f.intercept or 0) >= 0 else '-'} {abs(f.intercept or 0):.4f}"
    if f.r is not None:
        text += f", Pearson r = {f.r:.3f}"
    return f"<li>{text}</li>"


def study(st: TuneStudy, link: Link) -> str:
    """A tune study: its trial counts, best trial, holdout check and best trials."""
    counts = ", ".join(f"{n} {k}" for k, n in st.trials.items())
    best = (
        f"best trial {st.best_trial}: {num(st.best_value)} with {esc(st.best_params)}"
        if st.best_trial is not None
        else "no completed trial"
    )
    holdout = ""
    if st.holdout:
        holdout = f"; on the untuned folds {st.holdout.get('holdout_folds')}: {num(st.holdout.get('holdout_cv'))} (tuned folds {num(st.holdout.get('tuned_value'))})"
    rows = st.best_rows()
    columns = [c for c in (rows[0].keys() if rows else []) if c not in ("state",)]
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows
    )
    table = (
        f"<table><thead><tr>{''.join(f'<th>{esc(c)}</th>' for c in columns)}</tr></thead><tbody>{body}</tbody></table>"
        if rows
        else ""
    )
    links = " · ".join(
        link(st.path / f)
        for f in ("trials.csv", "summary.json", "best.yaml")
        if (st.path / f).exists()
    )
    return (
        f'<div class="study" data-study="{esc(st.name)}"><h3>{esc(st.name)} <small>({esc(st.direction)}; {esc(counts)})</small></h3>'
        f"<p>{best}{holdout}</p><p class=links>{links}</p>{table}</div>"
    )
