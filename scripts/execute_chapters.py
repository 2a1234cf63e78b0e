"""Execute the book's chapters two at a time into the jupyter-cache that `jupyter-book build` reads.

`jupyter-book build` (execute_notebooks: cache) runs every changed notebook one after the other.
A chapter keeps about 1.2 of the 2 cores busy (Python between TensorFlow calls), so two chapters
side by side finish sooner. This script executes every notebook that has no valid cache record,
the slowest first, in a pool of two processes, with the same cell timeout as the book, and
stores each result exactly where myst-nb looks for it (the cache matches a notebook by the hash
of its code cells). The build that follows finds every chapter cached.

A chapter that fails is reported here with its traceback and the script exits with status 1;
nothing of that chapter is cached, so the build would run it again and fail on the same cell.

    python scripts/execute_chapters.py [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "_build" / ".jupyter_cache"  # where jupyter-book 1 keeps it


def chapters() -> list[Path]:
    """The notebooks of _toc.yml, in the order the book lists them."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [entry["file"] for part in toc.get("parts", [toc]) for entry in part["chapters"]]
    return [ROOT / f"{name}.ipynb" for name in files if (ROOT / f"{name}.ipynb").exists()]


def recorded_seconds(notebook: nbformat.NotebookNode) -> float:
    """How long the committed outputs took to compute: the sum of the recorded cell timings."""
    total = 0.0
    for cell in notebook.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                          for key in ("iopub.execute_input", "shell.execute_reply"))
            total += (end - start).total_seconds()
    return total


def execute(path: Path, timeout: int) -> tuple[Path, nbformat.NotebookNode, float, str | None]:
    """Run one notebook in a fresh kernel in its own folder, as myst-nb does."""
    notebook = nbformat.read(path, as_version=4)
    result = single_nb_execution(
        notebook, cwd=str(path.parent), timeout=timeout, allow_errors=False, meta_override=True
    )
    return path, notebook, result.time, result.exc_string if result.err else None


def store(cache: Any, path: Path, notebook: nbformat.NotebookNode, seconds: float) -> None:
    """Cache an executed notebook under its source file, as myst-nb's cache mode does."""
    record = cache.add_nb_to_project(str(path))
    cache.cache_notebook_bundle(
        CacheBundleIn(notebook, record.uri, data={"execution_seconds": seconds}),
        check_validity=False,
        overwrite=True,
    )


def is_cached(cache: Any, path: Path) -> bool:
    """Whether the cache holds an execution of the notebook's current code cells."""
    try:
        cache.match_cache_notebook(nbformat.read(path, as_version=4))
    except KeyError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="notebooks run at the same time")
    args = parser.parse_args()
    if args.workers < 1:
        parser.error(f"--workers must be a positive int, got {args.workers}")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]
    timeout = int(config["timeout"])

    cache = get_cache(str(CACHE))
    stale = [path for path in chapters() if not is_cached(cache, path)]
    if not stale:
        print("execute_chapters: every chapter is cached")
        return 0
    # the slowest first (by the cell timings in the committed outputs), so that the short ones
    # fill the gaps at the end
    stale.sort(key=lambda path: -recorded_seconds(nbformat.read(path, as_version=4)))
    started = time.perf_counter()
    failed = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        # submitted slowest first; reported as each one finishes
        futures = [pool.submit(execute, path, timeout) for path in stale]
        for future in as_completed(futures):
            path, notebook, seconds, error = future.result()
            name = path.relative_to(ROOT)
            if error:
                failed.append(name)
                print(f"execute_chapters: {name} failed after {seconds:.0f} s\n{error}",
                      file=sys.stderr, flush=True)
                continue
            store(cache, path, notebook, seconds)
            print(f"execute_chapters: {name} executed in {seconds:.0f} s", flush=True)
    print(f"execute_chapters: {len(stale)} notebooks in {time.perf_counter() - started:.0f} s "
          f"with {args.workers} at a time")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
