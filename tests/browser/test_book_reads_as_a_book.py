"""The built book as a reader sees it: chapter pages show prose, math, code and pictures, not
the workshop. One test reads every chapter page in Chromium and lists, page by page, every
TensorFlow log line, machine path, error text, test marker, visible assert-only cell, doubled
section number and missing citation it finds."""

from __future__ import annotations

import re

from harness import BOOK_HTML_DIR
from playwright.sync_api import Page
from test_book import LOAD_TIMEOUT_MS, PAGES

CHAPTERS = [docname for docname in PAGES if docname.startswith("notebooks/")]

# What must never reach a reader, as (what it is, pattern over the page's visible text).
FORBIDDEN = [
    ("TensorFlow log line", re.compile(r"(?m)^[IWEF]\d{4} \d\d:\d\d:\d\d[.\d]*\s+\d+ \S+\]")),
    ("TensorFlow log line", re.compile(r"absl::InitializeLog|oneDNN custom operations|"
                                       r"cpu_feature_guard|rebuild TensorFlow with")),
    ("absolute path", re.compile(r"(?<![\w:/.~-])/(?:usr|home|root|tmp|work|opt|var|etc|mnt|"
                                 r"srv|Users|private)/[\w.@-]+")),
    ("error text", re.compile(r"\bErrno\b|Traceback \(most recent call last\)")),
    ("test marker", re.compile(r"NBVAL|nbval")),
]

# Jupyter Book writes "2.3. " before a heading; a heading that then starts with its own
# number ("2.3. 2.3 Title", "4. 4 · Training") was numbered twice.
DOUBLED_NUMBER = re.compile(
    r"^\s*\d+(?:\.\d+)*\.?\s+(?:\d+(?:\.\d+)+\.?\s|\d+\.?\s+[A-Za-z]|\d+\s*·)"
)

_CELL_SOURCES_JS = """() => Array.from(document.querySelectorAll('div.cell div.cell_input pre'))
    .map(pre => pre.innerText)"""
_HEADINGS_JS = """() => Array.from(document.querySelectorAll('main h1, main h2, main h3, main h4'))
    .map(h => h.innerText)"""
# sphinxcontrib-bibtex links each {cite} to its entry on the bibliography page.
_CITATIONS_JS = """() => Array.from(document.querySelectorAll('main a[href]'))
    .filter(a => /references\\.html#/.test(a.getAttribute('href'))).length"""


def assert_only(source: str) -> bool:
    """True for a cell whose code is nothing but checks (asserts and comments)."""
    lines = [line.strip() for line in source.splitlines()]
    code = [line for line in lines if line and not line.startswith("#")]
    starts = ("assert ", "assert(", "np.testing.assert", "numpy.testing.assert")
    heads = [line for line in code if not line.startswith((")", "]", "}"))]
    return bool(heads) and all(
        line.startswith(starts) or not line[0].isalpha() or line.startswith(("for ", "if "))
        for line in heads
    ) and any(line.startswith(starts) for line in heads)


def snippet(text: str, match: re.Match) -> str:
    start, end = max(0, match.start() - 40), min(len(text), match.end() + 40)
    return " ".join(text[start:end].split())


def offences(page: Page) -> list[str]:
    """Everything on the loaded page that a reader should not see."""
    found = []
    text = page.locator("main").inner_text()
    for what, pattern in FORBIDDEN:
        found += [f"{what}: ...{snippet(text, match)}..." for match in pattern.finditer(text)]
    found += [f"visible assert-only cell: {' '.join(source.split())[:100]}"
              for source in page.evaluate(_CELL_SOURCES_JS) if assert_only(source)]
    found += [f"doubled section number: {heading.strip()[:80]}"
              for heading in page.evaluate(_HEADINGS_JS) if DOUBLED_NUMBER.match(heading)]
    if page.evaluate(_CITATIONS_JS) == 0:
        found.append("no citation: the chapter cites none of its sources")
    return found


def test_assert_only_detection() -> None:
    assert assert_only("# the check\nassert x > 0\nassert np.all(y)")
    assert assert_only("for name in names:\n    assert ok[name], name")
    assert not assert_only("x = train()\nassert x > 0")
    assert not assert_only("print(x)")
    assert DOUBLED_NUMBER.match("1.1. 1.1 Learning a function from examples")
    assert DOUBLED_NUMBER.match("3.4. 4 · Training the CNN")
    assert not DOUBLED_NUMBER.match("1.1. Learning a function from examples")
    assert not DOUBLED_NUMBER.match("2.3. 3 × 3 kernels")  # a number that is part of the title


WORKSHOP_PAGE = """<html><body><main>
<h2><span class="section-number">1.1. </span>1.1 Learning a function</h2>
<div class="cell"><div class="cell_input"><pre>assert x &gt; 0</pre></div>
<div class="cell_output"><pre>I0000 00:00:1721234567.123456   12345 cpu_feature_guard.cc:182] AVX
loaded from /usr/share/datasets/fashion-mnist, [Errno -2] Name or service not known
# NBVAL_CHECK_OUTPUT</pre></div></div></main></body></html>"""


def test_a_page_showing_the_workshop_is_caught(page: Page) -> None:
    page.set_content(WORKSHOP_PAGE)
    found = "\n".join(offences(page))
    for what in ("TensorFlow log line", "absolute path", "error text", "test marker",
                 "visible assert-only cell", "doubled section number", "no citation"):
        assert what in found, (what, found)


def test_chapters_read_as_a_book(page: Page, book_url: str) -> None:
    assert CHAPTERS, "no chapter pages in the toc"
    report = {}
    for docname in CHAPTERS:
        assert (BOOK_HTML_DIR / f"{docname}.html").is_file(), f"{docname}.html was not built"
        page.goto(f"{book_url}{docname}.html", wait_until="load", timeout=LOAD_TIMEOUT_MS)
        if found := offences(page):
            report[docname] = found
    assert not report, "pages that show the workshop instead of the book:\n" + "\n".join(
        f"{docname}:\n  " + "\n  ".join(found) for docname, found in report.items()
    )
