"""Render a board page to PNG with Debian's headless chromium (how docs/board.png is made):

    podium board -c configs/digits/ensemble.yaml
    python docs/screenshot_board.py runs/digits/board.html docs/board.png [--height 1150]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("page", type=Path)
    p.add_argument("png", type=Path)
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=1150)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS)
        tab = browser.new_page(viewport={"width": args.width, "height": args.height})
        tab.goto(args.page.resolve().as_uri())
        tab.wait_for_selector("body[data-ready='1']")
        tab.wait_for_timeout(300)
        tab.screenshot(path=str(args.png))
        browser.close()
    print(f"{args.png}: {args.png.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
