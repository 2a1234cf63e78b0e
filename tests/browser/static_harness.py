"""Static views in Chromium without the book: write views into one local page the way the book
does (mapping_lib.static.book), draw them with the vendored Vega, read back what Vega computed.

    page_of_views(page, tmp_path, [activation_view()])
    rows = dataset_rows(page, 0, having={"z", "value"})
    set_signal(page, 0, "f", "relu")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import REPO
from playwright.sync_api import Page

from mapping_lib.static.book import SCRIPTS, view_html
from mapping_lib.static.views import StaticView

VENDOR = REPO / "_build/assets"  # `make assets`: vendor/vega/*.min.js
STATIC = REPO / "book/_static"   # static-views.js
DRAW_TIMEOUT_MS = 30_000


def _script_src(path: str) -> str:
    root = VENDOR if path.startswith("vendor/") else STATIC
    file = root / path
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing: run `make assets`")
    return file.as_uri()


def page_of_views(page: Page, directory: Path, views: list[StaticView]) -> None:
    """Open a file:// page holding ``views`` and wait until every one has been drawn."""
    scripts = "".join(
        f'<script src="{_script_src(path)}"{" defer" if "defer" in attrs else ""}></script>'
        for _key, path, attrs in sorted(SCRIPTS, key=lambda item: item[2]["priority"])
    )
    body = "".join(view_html(view.to_dict()) for view in views)
    file = directory / "views.html"
    head = f'<meta charset="utf-8">{scripts}'
    file.write_text(f"<!doctype html><html><head>{head}</head><body>{body}</body></html>")
    page.goto(file.as_uri())
    page.wait_for_function(
        f"() => (window.mappingStaticViews || []).length === {len(views)}",
        timeout=DRAW_TIMEOUT_MS,
    )


def set_signal(page: Page, index: int, name: str, value: Any) -> None:
    """Set parameter ``name`` of view ``index`` as its control would, and wait for the redraw."""
    page.evaluate(
        "([i, name, value]) => mappingStaticViews[i].view.signal(name, value)"
        ".runAsync().then(() => null)",
        [index, name, value],
    )


def dataset_rows(page: Page, index: int, having: set[str]) -> list[dict[str, Any]]:
    """The rows of the one dataset of view ``index`` whose rows have all fields in ``having``."""
    found = page.evaluate(
        """([i, fields]) => {
            const view = mappingStaticViews[i].view;
            const names = Object.keys(view.getState({data: vega.truthy, signals: vega.falsy}).data);
            const plain = (row) => Object.fromEntries(Object.entries(row).filter(
                ([, value]) => value === null || typeof value !== "object"));
            return names.map(name => view.data(name))
                .filter(rows => rows && rows.length && fields.every(field => field in rows[0]))
                .map(rows => rows.map(plain));
        }""",
        [index, sorted(having)],
    )
    if not found:
        raise AssertionError(f"view {index} has no dataset with fields {sorted(having)}")
    return max(found, key=len)
