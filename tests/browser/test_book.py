"""The built HTML book in Chromium, fully offline: every page in _toc.yml loads without errors,
typesets its math, renders its embedded widgets and images; navigation and search work."""

from __future__ import annotations

import re

import pytest
from harness import ARTIFACTS, BOOK_HTML_DIR, BOOK_TOC, PageLog, screenshot
from playwright.sync_api import Page
from sphinx_external_toc.api import FileItem
from sphinx_external_toc.parsing import parse_toc_yaml

LOAD_TIMEOUT_MS = 60_000
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def toc_pages() -> list[str]:
    """Docnames of the toc (BOOK_TOC) in reading order (root first, then depth-first)."""
    site_map = parse_toc_yaml(BOOK_TOC)
    order: list[str] = []

    def visit(docname: str) -> None:
        order.append(docname)
        for subtree in site_map[docname].subtrees:
            for item in subtree.items:
                if isinstance(item, FileItem):
                    visit(str(item))

    visit(site_map.root.docname)
    return order


PAGES = toc_pages()


def settle(page: Page, log: PageLog) -> None:
    """Wait until late requests (web fonts, lazy scripts) have finished, so their errors count."""
    page.evaluate("() => document.fonts.ready.then(() => true)")
    log.wait_quiet(page, timeout_s=LOAD_TIMEOUT_MS / 1000)


def assert_no_problems(log: PageLog) -> None:
    problems = log.problems()
    assert not problems, "the page reported problems:\n" + "\n".join(problems)


def check_math(page: Page, log: PageLog) -> int:
    """Wait for MathJax and check that every math element was typeset; return their count."""
    math = page.locator("span.math, div.math")
    if not math.count():
        return 0
    try:
        page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
            timeout=LOAD_TIMEOUT_MS,
        )
    except Exception:  # noqa: BLE001 - turned into a message with the page's problems
        pytest.fail("MathJax did not start; page problems:\n" + "\n".join(log.problems()))
    page.evaluate("() => MathJax.startup.promise")
    untypeset = math.filter(has_not=page.locator("mjx-container"))
    assert not untypeset.count(), f"math left as TeX: {untypeset.all_inner_texts()[:5]}"
    errors = page.locator("mjx-merror")
    assert not errors.count(), f"MathJax errors: {errors.all_inner_texts()[:5]}"
    return math.count()


_UNRENDERED_VIEWS_JS = """(mime) => Array.from(document.querySelectorAll(`script[type="${mime}"]`))
    .filter(script => {
        const area = script.previousElementSibling;  // embed-amd.js renders the view here
        return !(area && area.classList.contains('widget-subarea')
                 && area.querySelector('.jupyter-widgets'));
    })
    .map(script => JSON.parse(script.textContent).model_id)"""


def check_widgets(page: Page, log: PageLog) -> int:
    """Check that every embedded widget view rendered from the saved state; return their count."""
    views = page.locator(f'script[type="{WIDGET_VIEW_MIME}"]')
    if not views.count():
        return 0
    try:
        page.wait_for_function(
            f"(mime) => ({_UNRENDERED_VIEWS_JS})(mime).length === 0",
            arg=WIDGET_VIEW_MIME,
            timeout=LOAD_TIMEOUT_MS,
        )
    except Exception:  # noqa: BLE001 - turned into a message naming the views
        missing = page.evaluate(_UNRENDERED_VIEWS_JS, WIDGET_VIEW_MIME)
        pytest.fail(
            f"{len(missing)} of {views.count()} widget views did not render (model ids {missing});"
            " is the model missing from the notebook's saved widget state? Page problems:\n"
            + "\n".join(log.problems())
        )
    text = " ".join(page.locator(".widget-subarea").all_inner_texts())
    for bad in ("Loading widget", "Error displaying widget", "Error rendering"):
        assert bad not in text, f"widget area shows {bad!r}"
    return views.count()


def check_images(page: Page) -> int:
    """Load every image (lazy ones too) and check that each has pixels; return their count."""
    page.evaluate("() => { for (const img of document.images) img.loading = 'eager'; }")
    page.wait_for_function(
        "() => Array.from(document.images).every(img => img.complete)", timeout=LOAD_TIMEOUT_MS
    )
    broken = page.evaluate(
        "() => Array.from(document.images).filter(img => img.naturalWidth === 0)"
        ".map(img => img.currentSrc || img.src)"
    )
    assert not broken, f"images that did not load: {broken}"
    return page.evaluate("() => document.images.length")


@pytest.mark.parametrize("docname", PAGES)
def test_page_renders_offline(
    page: Page, page_log: PageLog, book_url: str, book_report: dict, docname: str
) -> None:
    assert (BOOK_HTML_DIR / f"{docname}.html").is_file(), f"{docname}.html was not built"
    page.goto(f"{book_url}{docname}.html", wait_until="load", timeout=LOAD_TIMEOUT_MS)
    math = check_math(page, page_log)
    widgets = check_widgets(page, page_log)
    images = check_images(page)
    settle(page, page_log)
    name = f"book/{docname.replace('/', '__')}"
    screenshot(page, name)
    if widgets:  # a picture of the first widget, for a person to look at
        area = page.locator(".widget-subarea").first
        area.scroll_into_view_if_needed()
        area.screenshot(path=str(ARTIFACTS / f"{name}-widget.png"))
    assert_no_problems(page_log)

    book_report["pages loaded"] = book_report.get("pages loaded", 0) + 1
    for key, count in (("math elements typeset", math), ("images loaded", images)):
        book_report[key] = book_report.get(key, 0) + count
    book_report.setdefault("widget views rendered", 0)
    book_report.setdefault("pages with widgets", [])
    if widgets:
        book_report["widget views rendered"] += widgets
        book_report["pages with widgets"].append(docname)


def test_next_link_goes_to_the_next_page(page: Page, page_log: PageLog, book_url: str) -> None:
    page.goto(f"{book_url}index.html")  # redirects to the root page
    page.wait_for_url(f"**/{PAGES[0]}.html", timeout=LOAD_TIMEOUT_MS)
    page.locator("a.right-next").first.click()
    page.wait_for_url(f"**/{PAGES[1]}.html", timeout=LOAD_TIMEOUT_MS)
    page.locator("a.left-prev").first.click()
    page.wait_for_url(f"**/{PAGES[0]}.html", timeout=LOAD_TIMEOUT_MS)
    settle(page, page_log)
    assert_no_problems(page_log)


def test_search_finds_the_landing_page(page: Page, page_log: PageLog, book_url: str) -> None:
    page.goto(f"{book_url}{PAGES[0]}.html")
    title = page.locator("main h1").first.inner_text()
    word = max(re.findall(r"[A-Za-z]{4,}", title), key=len)
    page.goto(f"{book_url}search.html?q={word}")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=LOAD_TIMEOUT_MS)
    hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    screenshot(page, "book/search")
    assert any(href.startswith(f"{PAGES[0]}.html") for href in hrefs), (word, hrefs)
    settle(page, page_log)
    assert_no_problems(page_log)
