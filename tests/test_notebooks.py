"""Rules every chapter notebook follows, read from the committed .ipynb files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def code_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text())["cells"]
    return [cell for cell in cells if cell["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_there_are_chapters() -> None:
    assert len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_first_cell_installs_the_library_from_the_configured_repository(path: Path) -> None:
    # Colab opens a bare notebook: it must be able to install mapping_lib itself, from the
    # repository _config.yml names (the one place that names it).
    first = code_cells(path)[0]
    text = source(first)
    assert 'find_spec("mapping_lib") is None' in text, f"{path.name}: no install cell first"
    urls = re.findall(r"git\+(\S+?)\"", text)
    assert urls == [REPOSITORY], f"{path.name} installs from {urls}, _config.yml says {REPOSITORY}"
    assert "remove-cell" in first["metadata"].get("tags", []), "the install cell is not for readers"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_models_are_seeded_from_the_book_seed(path: Path) -> None:
    # MAPPING_SEED rebuilds the whole book with another seed: no chapter pins its own.
    sources = [source(cell) for cell in code_cells(path)]
    assert any("seed_everything()" in text for text in sources), f"{path.name} is not seeded"
    literal = [line.strip() for text in sources for line in text.splitlines()
               if re.search(r"seed_everything\(\d|set_random_seed\(\d", line)]
    assert not literal, f"{path.name} pins a seed: {literal}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_nbval_markers_are_tags_not_comments(path: Path) -> None:
    commented = [source(cell).splitlines()[0] for cell in code_cells(path)
                 if re.search(r"(?m)^\s*#\s*NBVAL_", source(cell))]
    assert not commented, f"{path.name} shows nbval markers to readers: {commented}"
    checked = [cell for cell in code_cells(path)
               if "nbval-check-output" in cell["metadata"].get("tags", [])]
    assert checked, f"{path.name} compares no output with nbval"
