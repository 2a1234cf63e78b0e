"""Every static explorer of the built book is live in a page opened from file:// with every
network request blocked: each kind of control it offers (drop-down, slider, radio buttons,
text box, Play button) changes the picture, and the page reports no problems."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from harness import ARTIFACTS, BOOK_HTML_DIR, PageLog
from playwright.sync_api import Page
from test_book import LOAD_TIMEOUT_MS, PAGES, assert_no_problems

PLAY_TIMEOUT_MS = 60_000
ROUNDS = 3
PAGE_BUDGET_BYTES = 8_000_000
LOADED: dict[str, list[str]] = {}  # docname -> every URL its page loaded

# Move one control of a view as a reader would: a new value, then the events Vega listens to.
_MOVE_JS = """([index, control]) => {
    const {container} = mappingStaticViews[index];
    const input = container.querySelectorAll(".vega-bind input, .vega-bind select")[control];
    if (input.type === "radio") {
        const group = container.querySelectorAll(`input[name="${input.name}"]`);
        const other = Array.from(group).find(radio => !radio.checked);
        other.click();
        return other.value;
    }
    if (input.tagName === "SELECT") {
        input.selectedIndex = (input.selectedIndex + 1) % input.options.length;
    } else if (input.type === "range") {
        const low = Number(input.min), high = Number(input.max);
        input.value = Number(input.value) >= (low + high) / 2 ? low : high;
    } else {
        input.value = input.value === "" ? "not bad at all, really good" : "";
    }
    input.dispatchEvent(new Event("input", {bubbles: true}));
    input.dispatchEvent(new Event("change", {bubbles: true}));
    return input.value;
}"""

_CONTROLS_JS = """(index) => Array.from(mappingStaticViews[index].container.querySelectorAll(
    ".vega-bind input, .vega-bind select"), input =>
    input.tagName === "SELECT" ? "drop-down" : input.type === "range" ? "slider"
        : input.type === "radio" ? "radio buttons" : "text box")"""

# What the reader sees: the chart's canvas, after Vega has finished any pending redraw.
_PICTURE_JS = """(index) => mappingStaticViews[index].view.runAsync().then(() =>
    new Promise(resolve => requestAnimationFrame(() => resolve(
        mappingStaticViews[index].container.querySelector("canvas").toDataURL()))))"""


def _open(page: Page, docname: str) -> int:
    """Open ``docname`` from file:// and return how many static views it drew."""
    page.on("requestfinished", lambda request: LOADED.setdefault(docname, []).append(request.url))
    page.goto((BOOK_HTML_DIR / f"{docname}.html").as_uri(), wait_until="load")
    expected = page.locator(".mapping-static-view").count()
    if expected:
        page.wait_for_function(
            f"() => (window.mappingStaticViews || []).length === {expected}",
            timeout=LOAD_TIMEOUT_MS,
        )
    return expected


def _check_view(page: Page, index: int) -> dict[str, bool]:
    """Move the controls of view ``index``; for each kind, did some move change the picture?

    A control can be idle in one state (leaky ReLU's slope while tanh is shown), so the
    controls are moved in up to ROUNDS rounds, each starting where the last one left off.
    """
    kinds = page.evaluate(_CONTROLS_JS, index)
    changed = dict.fromkeys(kinds, False)
    for _round in range(ROUNDS):
        for control, kind in enumerate(kinds):
            before = page.evaluate(_PICTURE_JS, index)
            page.evaluate(_MOVE_JS, [index, control])
            changed[kind] = changed[kind] or page.evaluate(_PICTURE_JS, index) != before
        if all(changed.values()):
            break
    button = page.locator(".mapping-static-view").nth(index).locator(".mapping-static-view-play")
    if button.count():
        page.evaluate(  # rewind the slider the button plays, so that playing must move it
            """(b) => { const input = b.previousElementSibling.querySelector("input");
                input.value = input.min; input.dispatchEvent(new Event("input")); }""",
            button.element_handle(),
        )
        before = page.evaluate(_PICTURE_JS, index)
        button.click()
        page.wait_for_function(
            "(b) => b.textContent.includes('Play')",
            arg=button.element_handle(),
            timeout=PLAY_TIMEOUT_MS,
        )
        changed["Play button"] = page.evaluate(_PICTURE_JS, index) != before
    return changed


@pytest.mark.parametrize("docname", PAGES)
def test_static_views_respond_offline(
    page: Page, page_log: PageLog, book_report: dict, docname: str
) -> None:
    count = _open(page, docname)
    (ARTIFACTS / "book").mkdir(parents=True, exist_ok=True)
    dead = []
    for index in range(count):
        changed = _check_view(page, index)
        assert changed, f"static view {index} of {docname} has no controls"
        dead += [f"view {index}: {kind}" for kind, ok in changed.items() if not ok]
        page.locator(".mapping-static-view").nth(index).screenshot(
            path=str(ARTIFACTS / f"book/{docname.replace('/', '__')}-static-{index}.png")
        )
    assert not dead, f"{docname}: controls that never changed the picture: {dead}"
    files = {Path(unquote(urlsplit(url).path)) for url in LOADED.get(docname, [])}
    weight = sum(path.stat().st_size for path in files if path.is_file())
    assert weight <= PAGE_BUDGET_BYTES, f"{docname} weighs {weight / 1e6:.1f} MB with its assets"
    assert_no_problems(page_log)
    book_report["static views checked"] = book_report.get("static views checked", 0) + count
