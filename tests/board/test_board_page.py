"""`podium board` opened in a real headless browser (Debian's chromium driven by Playwright,
never a downloaded browser) on a small project made through the CLI: a CNN experiment, a
tabular member, their ensemble and its submission, a second submission, recorded LB scores,
then the CNN's config edited so that its OOF is stale. The rendered page must show one row
per run folder on disk, one scatter point per recorded submission, the stale experiment
marked stale with the stages' reason, the ensemble's local score, working sorting and the
learning curves.

Chromium missing fails the test (so CI, whose .ci/run installs it, cannot pass without
it); on a developer machine without it, PODIUM_BROWSER_TESTS=skip skips it instead (ignored
when CI is set)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from podium import cli

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PODIUM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
FAST_META = {"seeds": [0], "early_stopping_rounds": 10, "n_jobs": 2,
             "params": {"n_estimators": 40, "learning_rate": 0.3, "max_depth": 3}}  # fmt: skip


def require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    if os.environ.get("PODIUM_BROWSER_TESTS") == "skip" and not os.environ.get("CI"):
        pytest.skip(f"no chromium at {CHROMIUM} (PODIUM_BROWSER_TESTS=skip)")
    pytest.fail(
        f"the board's browser test needs Debian's chromium at {CHROMIUM} (apt-get install "
        "chromium, as .ci/run does); on a developer machine without it, set "
        "PODIUM_BROWSER_TESTS=skip"
    )


def write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory, demo_data_root):
    """configs/digits/{base,tiny,pixels,stack}.yaml and their runs, made by the CLI."""
    work = tmp_path_factory.mktemp("board")
    configs = work / "configs" / "digits"
    write(configs / "base.yaml", {
        "extends": str(ROOT / "configs/digits/base.yaml"),
        "model": {"name": "test_convnext"},
        "folds": {"n_splits": 2},
        "data": {"num_workers": 0},
        "train": {"epochs": 2, "progress": False},
        "infer": {"tta": ["identity", "shift1_0"], "batch_size": 512},
        "paths": {"data": str(demo_data_root), "runs": str(work / "runs"),
                  "submissions": str(work / "submissions")},
    })  # fmt: skip
    tiny = write(configs / "tiny.yaml", {"extends": "base.yaml", "train": {"lr": 0.002}})
    write(configs / "pixels.yaml", {
        "extends": "base.yaml", "tabular": {"model": "logistic", "image_size": 8}})  # fmt: skip
    stack = write(configs / "stack.yaml", {
        "extends": "base.yaml", "name": "stack",
        "ensemble": {"members": ["tiny.yaml", "pixels.yaml"], "meta": FAST_META}})  # fmt: skip
    assert cli.main(["score", "-c", str(stack)]) == 0  # trains, predicts, stacks, submits
    assert cli.main(["submit", "-c", str(tiny)]) == 0
    subs = sorted((work / "submissions").glob("digits-*.csv"))
    for i, sub in enumerate(subs):
        assert cli.main(["lb", "add", str(sub), "--public", f"0.9{i}", "-c", str(stack)]) == 0
    # the CNN's TTA changes after its OOF was made: `podium oof` would redo it
    write(tiny, {"extends": "base.yaml", "train": {"lr": 0.002}, "infer": {"tta": ["identity"]}})
    out = work / "board.html"
    assert cli.main(["board", "-c", str(stack), "--out", str(out)]) == 0
    return work, out, subs


@pytest.fixture(scope="module")
def page(project):
    require_chromium()
    from playwright.sync_api import sync_playwright

    _, out, _ = project
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(out.as_uri())
        tab.wait_for_selector("body[data-ready='1']", timeout=30_000)
        assert not errors, errors
        yield tab
        browser.close()


def rows(page) -> list[str]:
    return page.eval_on_selector_all(
        "#experiments tbody tr", "rs => rs.map(r => r.dataset.experiment)"
    )


def test_the_table_has_one_row_per_run_folder_on_disk(project, page):
    work, _, _ = project
    runs = work / "runs" / "digits"
    on_disk = {p.parent.name for p in runs.glob("*/config.yaml")} | {
        p.parent.name for p in runs.glob("ensemble/*/config.yaml")
    }
    assert on_disk == {"tiny", "pixels", "stack"}
    assert sorted(rows(page)) == sorted(on_disk)


def test_the_scatter_has_one_point_per_recorded_submission(project, page):
    _, _, subs = project
    assert len(subs) == 2
    lb_points = page.locator("#cv-lb-scatter .scatterlayer .trace").first.locator("path.point")
    assert lb_points.count() == len(subs)
    assert "public LB (recorded): 2 points" in page.inner_text("ul.fits")


def test_a_stale_experiment_is_marked_stale_with_the_stages_reason(page):
    state = page.eval_on_selector_all(
        "#experiments tbody tr",
        "rs => Object.fromEntries(rs.map(r => [r.dataset.experiment, r.dataset.freshness]))",
    )
    assert state == {"tiny": "stale", "pixels": "fresh", "stack": "fresh"}
    text = page.inner_text("#experiments tr[data-experiment='tiny'] td.freshness")
    assert text == "stale: oof: settings changed; test predictions (infer): settings changed"


def test_submissions_show_the_local_score_and_the_recorded_lb(page):
    row = page.locator("#submissions tr[data-file^='digits-stack-']")
    cells = row.locator("td").all_inner_texts()
    local_all, lb_public = cells[4], cells[7]
    assert 0.5 < float(local_all) <= 1.0
    assert lb_public in ("0.9000", "0.9100")


def test_sorting_works_on_numbers_and_names(page):
    def cv_in_order() -> list[float]:
        return page.eval_on_selector_all(
            "#experiments tbody tr", "rs => rs.map(r => parseFloat(r.cells[6].dataset.sort))"
        )

    header = page.locator("#experiments th", has_text="CV accuracy")
    header.click()
    assert cv_in_order() == sorted(cv_in_order())
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert cv_in_order() == sorted(cv_in_order(), reverse=True)
    page.locator("#experiments th", has_text="experiment").first.click()
    assert rows(page) == ["pixels", "stack", "tiny"]


def test_an_experiment_s_learning_curves_are_drawn_when_opened(page):
    page.click("#experiments tr[data-experiment='tiny'] td.name a")
    curves = page.locator("#details-tiny .curves .plot")
    curves.first.wait_for()
    assert curves.count() == 2  # loss, metric
    assert page.locator("#details-tiny .curves .scatterlayer .trace").count() == 2 * 2 + 2


def test_podium_board_without_arguments_finds_the_one_competition(project, monkeypatch, capsys):
    """`make demo && podium board`: the competition under runs/, its configs in configs/<comp>/."""
    work, _, _ = project
    monkeypatch.chdir(work)
    assert cli.main(["board"]) == 0
    out = capsys.readouterr().out
    assert "board digits: 3 experiments (1 not fresh: tiny), 2 submissions" in out
    page = (work / "runs/digits/board.html").read_text()
    assert page.count("<tr data-experiment=") == 3
    assert 'data-experiment="tiny" data-freshness="stale"' in page
