"""How fast the static explorers of the built book redraw, and how heavy their pages are.

    python -m bench.static_views [--book _build/html] [--moves 20]

Budgets (issue #14), headless Chromium on 2 cores: every explorer redraws within 100 ms of a
control change (median over ``--moves`` moves of each control), and no chapter page weighs
more than 8 MB with everything it loads. For every static view of every page, each control is
moved back and forth ``--moves`` times through the page's DOM, as a reader would; a redraw
counts from the input event until Vega has run and the browser has painted the next frame.
The baseline, measured in the same page, is one frame with no change (``requestAnimationFrame``
alone); figures are printed as milliseconds, as a ratio to that frame and to the budget.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
BUDGET_MS = 100.0
PAGE_BUDGET_MB = 8.0

# One move of control `control` of view `index` to `value`, timed until the next painted frame.
_TIMED_MOVE_JS = """async ([index, control, value]) => {
    const {container, view} = mappingStaticViews[index];
    const input = container.querySelectorAll(".vega-bind input, .vega-bind select")[control];
    const start = performance.now();
    if (input.type === "radio") {
        container.querySelectorAll(`input[name="${input.name}"]`)[value].click();
    } else {
        if (input.tagName === "SELECT") input.selectedIndex = value; else input.value = value;
        input.dispatchEvent(new Event("input", {bubbles: true}));
        input.dispatchEvent(new Event("change", {bubbles: true}));
    }
    await view.runAsync();
    await new Promise(resolve => requestAnimationFrame(() => resolve()));
    return performance.now() - start;
}"""

_FRAME_JS = """async () => { const start = performance.now();
    await new Promise(resolve => requestAnimationFrame(() => resolve()));
    return performance.now() - start; }"""

# The two values each control alternates between.
_VALUES_JS = """([index, control]) => {
    const {container} = mappingStaticViews[index];
    const input = container.querySelectorAll(".vega-bind input, .vega-bind select")[control];
    const name = input.name || input.tagName;
    if (input.type === "radio") return [name, 0, 1];
    if (input.tagName === "SELECT") return [name, 0, Math.min(1, input.options.length - 1)];
    if (input.type === "range") return [name, input.min, input.max];
    return [name, "not bad at all", "the worst food I have had"];
}"""


def _chapter_pages(book: Path) -> list[Path]:
    return sorted(path for path in (book / "notebooks").glob("*.html"))


def _page_bytes(book: Path, urls: list[str]) -> int:
    """Bytes of every file under ``book`` that the page loaded (each counted once)."""
    files = {Path(unquote(urlsplit(url).path)) for url in urls if url.startswith("file:")}
    return sum(path.stat().st_size for path in files if path.is_file())


def measure(book: Path, moves: int) -> list[tuple[str, int, str, float, float]]:
    """(page, view, control, median redraw ms, median empty frame ms) for every control."""
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for html in _chapter_pages(book):
            page = browser.new_page()
            page.route(
                "**/*",
                lambda route: (
                    route.abort()
                    if not route.request.url.startswith("file:")
                    else route.continue_()
                ),
            )
            loaded: list[str] = []
            page.on("requestfinished", lambda request, urls=loaded: urls.append(request.url))
            page.goto(html.as_uri(), wait_until="load")
            count = page.locator(".mapping-static-view").count()
            if count:
                page.wait_for_function(
                    f"() => (window.mappingStaticViews || []).length === {count}", timeout=60_000
                )
            page.wait_for_timeout(500)
            megabytes = _page_bytes(book, [html.as_uri(), *loaded]) / 1e6
            flag = "" if megabytes <= PAGE_BUDGET_MB else "  OVER BUDGET"
            print(f"{html.name}: {count} static views, {megabytes:.2f} MB with its assets{flag}")
            for index in range(count):
                every = page.evaluate(
                    "(i) => mappingStaticViews[i].container.querySelectorAll("
                    "'.vega-bind input, .vega-bind select').length",
                    index,
                )
                seen = set()
                for control in range(every):
                    name, first, second = page.evaluate(_VALUES_JS, [index, control])
                    if name in seen:  # one radio group is one control
                        continue
                    seen.add(name)
                    times, frames = [], []
                    for move in range(moves):
                        value = second if move % 2 == 0 else first
                        times.append(page.evaluate(_TIMED_MOVE_JS, [index, control, value]))
                        frames.append(page.evaluate(_FRAME_JS))
                    rows.append(
                        (
                            html.stem,
                            index,
                            name,
                            statistics.median(times),
                            statistics.median(frames),
                        )
                    )
            page.close()
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=REPO / "_build/html")
    parser.add_argument("--moves", type=int, default=20)
    args = parser.parse_args()
    if not (args.book / "notebooks").is_dir():
        raise SystemExit(f"--book must be a built book (no {args.book / 'notebooks'}): make book")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    print(
        f"commit {commit}, load average at start {os.getloadavg()[0]:.1f}, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    rows = measure(args.book, args.moves)
    print("\n| page | view | control | median redraw | × empty frame | × budget |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for page, index, name, redraw, frame in rows:
        print(
            f"| {page} | {index} | {name} | {redraw:.1f} ms | {redraw / frame:.1f} | "
            f"{redraw / BUDGET_MS:.2f} |"
        )
    worst = max(rows, key=lambda row: row[3]) if rows else None
    if worst:
        print(
            f"\nslowest: {worst[0]} view {worst[1]} {worst[2]}: {worst[3]:.1f} ms "
            f"({worst[3] / BUDGET_MS:.2f} of the {BUDGET_MS:.0f} ms budget)"
        )


if __name__ == "__main__":
    main()
