"""Fixtures for the browser tests: Debian's Chromium via Playwright, a local web server for the
built book, and a live JupyterLab. Page helpers for tests live in harness.py.

Environment: BOOK_HTML_DIR (built HTML, default _build/test-book/_build/html, made by
`make test-book`), BOOK_TOC (the toc it was built from, default _toc.yml) and TEST_ARTIFACTS
(screenshots and logs, default test-artifacts/).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import ARTIFACTS, BOOK_HTML_DIR, LOCAL_HOST, REPO, PageLog, is_local
from playwright.sync_api import BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
LAB_START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCAL_HOST, 0))
        return sock.getsockname()[1]


# --- Chromium -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Debian's Chromium with a fresh profile; requests off this machine are aborted."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`make sysdeps`); "
            "the tests never download a browser",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        context.route(lambda url: not is_local(url), lambda route: route.abort())
        yield context
        context.close()


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(browser_context: BrowserContext, page_log: PageLog) -> Iterator[Page]:
    """A new tab whose console errors, page errors and remote requests go to `page_log`."""
    tab = browser_context.new_page()
    page_log.attach(tab)
    yield tab
    tab.close()


# --- the built book -------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="session")
def book_url() -> Iterator[str]:
    """Base URL (ending in /) of the built book, served from BOOK_HTML_DIR on 127.0.0.1."""
    if not (BOOK_HTML_DIR / "index.html").is_file():
        pytest.fail(
            f"no built book in {BOOK_HTML_DIR}: run `make test-book` (or set BOOK_HTML_DIR)",
            pytrace=False,
        )
    handler = functools.partial(_QuietHandler, directory=str(BOOK_HTML_DIR))
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


# --- JupyterLab -----------------------------------------------------------------------------


@dataclass(frozen=True)
class JupyterLab:
    url: str  # base URL, ending in /
    token: str


# Fresh, quiet settings: no restart confirmation, no news or update checks (they would go to the
# internet), no autosave (tests must not write outputs into the repository), every cell in the
# DOM (no windowing).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/sessionDialogs.jupyterlab-settings": {
        "skipKernelRestartDialog": True
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _write_lab_settings(settings_dir: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _wait_until_ready(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + LAB_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with {process.returncode}; log:\n{log.read_text()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"jupyter lab not ready after {LAB_START_TIMEOUT_S} s; log in {log}")


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """JupyterLab on 127.0.0.1 (free port, random token) with the repository as its root."""
    home = tmp_path_factory.mktemp("jupyterlab")
    _write_lab_settings(home / "settings")
    port, token = free_port(), secrets.token_hex(16)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # one log per pytest-xdist worker ("gw0", ...), each with its own JupyterLab
    log = ARTIFACTS / f"jupyterlab{os.environ.get('PYTEST_XDIST_WORKER', '')}.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        f"--ip={LOCAL_HOST}",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={REPO}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        # Checkpoints (written when a notebook is opened) go to the temporary home, not the repo.
        f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:  # CI containers run as root; JupyterLab refuses that unless told
        command.append("--allow-root")
    # The kernel must be the one of this environment, whoever started pytest.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "JUPYTER_RUNTIME_DIR": str(home / "runtime")}  # fmt: skip
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    url = f"http://{LOCAL_HOST}:{port}/"
    try:
        _wait_until_ready(process, f"{url}api/status?token={token}", log)
        yield JupyterLab(url=url, token=token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def lab_page(page: Page, jupyter_lab: JupyterLab) -> Page:
    """A tab logged in to JupyterLab (its token is now a cookie); use the harness helpers on it."""
    page.goto(f"{jupyter_lab.url}lab?token={jupyter_lab.token}")
    page.locator("#jp-main-dock-panel").wait_for(timeout=LAB_START_TIMEOUT_S * 1000)
    return page


# --- summary --------------------------------------------------------------------------------

BOOK_REPORT = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def book_report(request: pytest.FixtureRequest) -> dict:
    """Counts of what the book tests checked; printed at the end of the run."""
    return request.config.stash.setdefault(BOOK_REPORT, {})


def _xdist_worker(config: pytest.Config) -> str | None:
    return getattr(config, "workerinput", {}).get("workerid")


def pytest_sessionstart(session: pytest.Session) -> None:
    if _xdist_worker(session.config) is None:  # the run itself, not one of its workers
        for stale in ARTIFACTS.glob("book-report-*.json"):
            stale.unlink()


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Under pytest-xdist each worker counts its own tests; it leaves its counts for the
    # summary, which the controlling process prints.
    worker, report = _xdist_worker(session.config), session.config.stash.get(BOOK_REPORT, None)
    if worker is not None and report:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"book-report-{worker}.json").write_text(json.dumps(report))


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    report = dict(config.stash.get(BOOK_REPORT, {}))
    for path in sorted(ARTIFACTS.glob("book-report-*.json")):
        for key, value in json.loads(path.read_text()).items():
            report[key] = report.get(key, [] if isinstance(value, list) else 0) + value
    if report:
        terminalreporter.section("book checks")
        for key, value in report.items():
            terminalreporter.write_line(f"{key}: {value}")
