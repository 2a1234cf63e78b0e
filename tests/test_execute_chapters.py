"""scripts/execute_chapters.py: what it stores is what myst-nb's cache mode finds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
from jupyter_cache import get_cache

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "execute_chapters.py"
spec = importlib.util.spec_from_file_location("execute_chapters", SCRIPT)
execute_chapters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(execute_chapters)


def _notebook(path: Path, code: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# a page"), nbformat.v4.new_code_cell(code)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)
    return path


def test_an_executed_notebook_is_found_by_its_code_and_lost_when_the_code_changes(tmp_path):
    path = _notebook(tmp_path / "page.ipynb", "print(6 * 7)")
    cache = get_cache(str(tmp_path / "cache"))
    assert not execute_chapters.is_cached(cache, path)

    _, notebook, seconds, error = execute_chapters.execute(path, timeout=60)
    assert error is None and seconds > 0
    assert notebook.cells[1].outputs[0]["text"] == "42\n"  # executed, not the file as read
    execute_chapters.store(cache, path, notebook, seconds)
    assert execute_chapters.is_cached(cache, path)
    # myst-nb merges the cached outputs into the notebook it reads from the file
    _, merged = cache.merge_match_into_notebook(nbformat.read(path, as_version=4))
    assert merged.cells[1].outputs[0]["text"] == "42\n"

    _notebook(path, "print(6 * 9)")
    assert not execute_chapters.is_cached(cache, path)


def test_a_failing_cell_is_reported_with_its_traceback(tmp_path):
    path = _notebook(tmp_path / "broken.ipynb", "raise ValueError('units must be positive')")
    _, _, _, error = execute_chapters.execute(path, timeout=60)
    assert error is not None and "units must be positive" in error


def test_recorded_seconds_add_up_the_cell_timings():
    notebook = nbformat.v4.new_notebook()
    timing = {"iopub.execute_input": "2026-12-01T10:00:00.000000Z",
              "shell.execute_reply": "2026-12-01T10:00:02.500000Z"}
    notebook.cells = [nbformat.v4.new_code_cell("1", metadata={"execution": timing}),
                      nbformat.v4.new_code_cell("2", metadata={"execution": timing}),
                      nbformat.v4.new_code_cell("3")]
    assert execute_chapters.recorded_seconds(notebook) == 5.0


def test_the_chapters_are_the_notebooks_of_the_table_of_contents():
    names = [path.name for path in execute_chapters.chapters()]
    assert names[0] == "01_mapping.ipynb" and "playground.ipynb" in names
    assert all(path.exists() for path in execute_chapters.chapters())
