"""Playwright helpers shared by the browser tests (book pages and live JupyterLab).

Chapter tests drive a notebook in JupyterLab with the `lab_page` fixture from conftest.py:

    from harness import move_slider, open_notebook, run_all_cells, slider, widget_image_bytes

    def test_my_explorer(lab_page):
        open_notebook(lab_page, "notebooks/01_mapping.ipynb")
        run_all_cells(lab_page)
        before = widget_image_bytes(lab_page, 0)
        move_slider(lab_page, slider(lab_page, "units"), times=3)
        wait_widget_image_change(lab_page, 0, before)

Every wait is bounded; a timeout fails the test with what was on the page.
"""

from __future__ import annotations

import base64
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from playwright.sync_api import Locator, Page

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", REPO / "test-artifacts"))
BOOK_HTML_DIR = Path(os.environ.get("BOOK_HTML_DIR", REPO / "_build/test-book/_build/html"))
BOOK_TOC = Path(
    os.environ.get("BOOK_TOC", REPO / "_toc.yml")
)  # the toc BOOK_HTML_DIR was built from
LOCAL_HOST = "127.0.0.1"

# The notebook panel in front (JupyterLab hides the other tabs with lm-mod-hidden).
ACTIVE_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
OPEN_TIMEOUT_S = 120
RUN_TIMEOUT_S = 900  # a whole chapter; the spec allows 5 minutes on 2 cores
WIDGET_TIMEOUT_S = 60


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a PNG of the page as test-artifacts/<name>.png and return its path."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    return path


def is_local(url: str) -> bool:
    """True for URLs that stay on this machine: 127.0.0.1, files, or data:/blob:/about: URLs."""
    parts = urlsplit(url)
    return parts.scheme in ("file", "data", "blob", "about") or parts.hostname == LOCAL_HOST


@dataclass
class PageLog:
    """What a page reported while a test used it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    pending: dict[int, str] = field(default_factory=dict)  # requests not finished yet

    def attach(self, page: Page) -> None:
        def on_console(message) -> None:
            if message.type == "error":
                self.console_errors.append(f"{message.text} ({message.location.get('url')})")

        def on_request(request) -> None:
            self.pending[id(request)] = request.url
            if not is_local(request.url):
                self.remote_requests.append(request.url)

        def on_done(request) -> None:
            self.pending.pop(id(request), None)

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("request", on_request)
        page.on("requestfinished", on_done)
        page.on("requestfailed", on_done)

    def wait_quiet(self, page: Page, *, quiet_s: float = 0.5, timeout_s: float = 60) -> None:
        """Wait until no request has been in flight for `quiet_s` (late fonts, images)."""
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet_s:
            if self.pending:
                quiet_since = time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError(f"requests still open after {timeout_s} s: {self.pending}")
            page.wait_for_timeout(100)

    def problems(self) -> list[str]:
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"page error: {text}" for text in self.page_errors]
            + [f"request off this machine: {url}" for url in self.remote_requests]
        )


# --- JupyterLab -----------------------------------------------------------------------------


def _server_root(page: Page) -> str:
    parts = urlsplit(page.url)
    if not parts.scheme.startswith("http"):
        raise ValueError(f"page must already be on the JupyterLab server, got url {page.url!r}")
    return f"{parts.scheme}://{parts.netloc}/"


def open_notebook(page: Page, relpath: str, *, timeout_s: float = OPEN_TIMEOUT_S) -> Locator:
    """Open `relpath` (relative to the repository root) in JupyterLab and wait for its kernel.

    `page` must already be on the JupyterLab server (the `lab_page` fixture is).
    Returns the notebook panel.
    """
    if not (REPO / relpath).is_file():
        raise ValueError(f"relpath must name a notebook in the repository, got {relpath!r}")
    # ?reset: a fresh layout with only this notebook, whatever earlier tests left open.
    page.goto(f"{_server_root(page)}lab/tree/{quote(relpath)}?reset")
    panel = page.locator(ACTIVE_NOTEBOOK)
    panel.locator(".jp-Notebook").wait_for(timeout=timeout_s * 1000)
    wait_kernel_idle(page, timeout_s=timeout_s)
    return panel


def _accept_kernel_dialog(page: Page) -> None:
    """Accept JupyterLab's kernel dialogs: "Select Kernel" (when it cannot match the notebook's
    kernelspec; the default choice is this environment's python3) and "Restart Kernel?"."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and "kernel" in dialog.first.inner_text().lower():
        dialog.first.locator(".jp-Dialog-button.jp-mod-accept").click()


def kernel_status(page: Page) -> str:
    """The front notebook's kernel status: "no kernel" while none is attached (the execution
    indicator already says idle then), else the indicator's idle, busy, starting, ..."""
    name = page.locator(f"{ACTIVE_NOTEBOOK} .jp-Toolbar-kernelName")
    if not name.count() or name.first.inner_text().strip() in ("", "No Kernel"):
        return "no kernel"
    indicator = page.locator(f"{ACTIVE_NOTEBOOK} .jp-Notebook-ExecutionIndicator")
    if not indicator.count():
        return "unknown"
    return indicator.first.get_attribute("data-status") or "unknown"


def wait_kernel_idle(
    page: Page, *, timeout_s: float = OPEN_TIMEOUT_S, settle_s: float = 1.0
) -> None:
    """Wait until the front notebook's kernel has been idle for `settle_s` (a starting kernel
    flickers through idle), accepting kernel dialogs on the way."""
    deadline = time.monotonic() + timeout_s
    idle_since = None
    while True:
        status = kernel_status(page)
        if status != "idle":
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= settle_s:
            return
        if time.monotonic() > deadline:
            screenshot(page, "lab-kernel-timeout")
            raise TimeoutError(f"kernel not idle after {timeout_s:.0f} s (status: {status})")
        _accept_kernel_dialog(page)
        page.wait_for_timeout(200)


def _click_menu(page: Page, menu: str, item: str) -> None:
    """Click main menu `menu`, then its entry whose label starts with `item`, as a reader would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}")).click()


_PROMPTS_JS = """(selector) => Array.from(document.querySelectorAll(`${selector} .jp-CodeCell`))
    .filter(cell => (cell.querySelector('.cm-content')?.textContent || '').trim() !== '')
    .map(cell => (cell.querySelector('.jp-InputPrompt')?.textContent || '').trim())"""


def _prompts(page: Page) -> list[str]:
    """Input prompts ("[ ]:", "[*]:", "[3]:") of the non-empty code cells, top to bottom."""
    return page.evaluate(_PROMPTS_JS, ACTIVE_NOTEBOOK)


def _error_outputs(page: Page) -> str:
    errors = page.locator(
        f'{ACTIVE_NOTEBOOK} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    )
    return "\n---\n".join(errors.all_inner_texts())


def run_all_cells(page: Page, *, timeout_s: float = RUN_TIMEOUT_S) -> None:
    """Restart the kernel, clear all outputs, run all cells; wait until every code cell has run.

    The restart gives every test the reader's fresh start; clearing makes the prompts tell new
    results from the committed ones. Fails as soon as the kernel stops with cells left unrun
    (a cell raised), showing the error output.
    """
    _click_menu(page, "Kernel", "Restart Kernel and Clear Outputs of All Cells")
    wait_kernel_idle(page)
    _click_menu(page, "Run", "Run All Cells")
    deadline = time.monotonic() + timeout_s
    # Wait until a prompt shows the run (queued "[*]" or done), so "idle" below means finished.
    while (prompts := _prompts(page)) and all(p.startswith("[ ]") for p in prompts):
        if time.monotonic() > deadline:
            raise TimeoutError("Run All Cells did not start")
        _accept_kernel_dialog(page)
        page.wait_for_timeout(100)
    while True:
        prompts = _prompts(page)
        finished = all(re.fullmatch(r"\[\d+\]:?", p) for p in prompts)
        if kernel_status(page) == "idle" and not any("*" in p for p in prompts):
            if finished:
                return
            screenshot(page, "lab-run-all-failed")
            raise AssertionError(
                f"cells left unrun (prompts {prompts}); error output:\n{_error_outputs(page)}"
            )
        if time.monotonic() > deadline:
            screenshot(page, "lab-run-all-timeout")
            raise TimeoutError(f"cells still running after {timeout_s:.0f} s: {prompts}")
        _accept_kernel_dialog(page)
        page.wait_for_timeout(250)


# --- ipywidgets in a live notebook ---------------------------------------------------------


def slider(page: Page, description: str) -> Locator:
    """The one slider widget whose label reads `description` in the front notebook."""
    exact = re.compile(rf"^{re.escape(description)}$")
    label = page.locator(".widget-label").filter(has_text=exact)
    found = page.locator(f"{ACTIVE_NOTEBOOK} .widget-slider").filter(has=label)
    found.first.wait_for(timeout=WIDGET_TIMEOUT_S * 1000)
    if found.count() != 1:
        raise AssertionError(f"expected one slider labelled {description!r}, found {found.count()}")
    return found.first


def slider_value(slider_widget: Locator) -> str:
    """The slider's readout text (what the reader sees next to the handle)."""
    return slider_widget.locator(".widget-readout").inner_text().strip()


def move_slider(page: Page, slider_widget: Locator, key: str = "ArrowRight", times: int = 1) -> str:
    """Press `key` `times` times on the slider's handle; return the readout after the last move."""
    if times < 1:
        raise ValueError(f"times must be a positive int, got {times}")
    handle = slider_widget.locator(".noUi-handle").first
    handle.focus()
    for _ in range(times):
        before = slider_value(slider_widget)
        handle.press(key)
        try:
            page.wait_for_function(
                "([el, before]) => el.textContent.trim() !== before",
                arg=[slider_widget.locator(".widget-readout").element_handle(), before],
                timeout=WIDGET_TIMEOUT_S * 1000,
            )
        except Exception as error:  # noqa: BLE001 - re-raised with the slider's state
            raise AssertionError(f"slider stayed at {before!r} after pressing {key}") from error
    return slider_value(slider_widget)


def _widget_image(page: Page, index: int) -> Locator:
    images = page.locator(f"{ACTIVE_NOTEBOOK} img.widget-image")
    images.nth(index).wait_for(timeout=WIDGET_TIMEOUT_S * 1000)
    return images.nth(index)


def widget_image_src(page: Page, index: int = 0) -> str:
    """The src of the index-th ipywidgets.Image in the front notebook (a blob: URL)."""
    return _widget_image(page, index).get_attribute("src") or ""


_FETCH_BASE64_JS = """async (img) => {
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let text = '';
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text);
}"""


def widget_image_bytes(page: Page, index: int = 0) -> bytes:
    """The image bytes (e.g. PNG) that the index-th ipywidgets.Image currently shows."""
    encoded = _widget_image(page, index).evaluate(_FETCH_BASE64_JS)
    return base64.b64decode(encoded)


def wait_widget_image_change(
    page: Page, index: int, before: bytes, *, timeout_s: float = WIDGET_TIMEOUT_S
) -> bytes:
    """Wait until the index-th widget image shows bytes other than `before`; return them."""
    deadline = time.monotonic() + timeout_s
    while (current := widget_image_bytes(page, index)) == before:
        if time.monotonic() > deadline:
            raise AssertionError(f"widget image {index} did not change within {timeout_s:.0f} s")
        page.wait_for_timeout(200)
    return current
