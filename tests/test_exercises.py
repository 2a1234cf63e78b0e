"""mapping_lib.exercises: the registry and its verdicts, and every exercise's place in a chapter
(a statement, a cell to work in and a model solution behind a toggle, checked by nbval)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mapping_lib.exercises import EXERCISES, check, exercise
from mapping_lib.exercises.registry import close_to, number

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = {
    "1": "01_mapping",
    "2": "02_backprop",
    "3": "03_cnn",
    "4": "04_training",
    "5": "05_applications",
}


def _cells(stem: str) -> list[dict]:
    return json.loads((NOTEBOOKS / f"{stem}.ipynb").read_text())["cells"]


def test_ids_and_kinds_are_checked_when_registering() -> None:
    with pytest.raises(ValueError, match="exercise_id must look like '2.3'"):
        exercise("2-3", "compute", "bad id")
    with pytest.raises(ValueError, match="kind must be one of compute, code, think"):
        exercise("9.1", "essay", "bad kind")
    with pytest.raises(ValueError, match="registered twice"):
        exercise(next(iter(EXERCISES)), "think", "again")


def test_check_refuses_unknown_ids_and_waits_for_an_answer() -> None:
    with pytest.raises(ValueError, match=r"exercise_id must be one of 1\.1, "):
        check("0.1", 3)
    some = next(entry for entry in EXERCISES.values() if entry.kind != "think")
    verdict = check(some.exercise_id, None)
    assert verdict.correct is None and "no answer yet" in str(verdict)
    think = next(entry for entry in EXERCISES.values() if entry.kind == "think")
    assert check(think.exercise_id, "anything").correct is None


def test_shared_checks_do_not_give_the_answer_away() -> None:
    assert close_to(0.2501, 0.25) == (True, "that is the value")
    ok, message = close_to(0.3, 0.25)
    assert not ok and "too large" in message and "0.25" not in message
    assert "check the sign" in close_to(-0.25, 0.25)[1]
    with pytest.raises(TypeError, match="must be a number, got 'abc'"):
        number("1.1", "abc")
    with pytest.raises(ValueError, match="finite number"):
        number("1.1", float("nan"))


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_chapter_has_six_to_ten_exercises_of_all_three_kinds(chapter: str) -> None:
    entries = [entry for key, entry in EXERCISES.items() if key.split(".")[0] == chapter]
    assert 6 <= len(entries) <= 10, [entry.exercise_id for entry in entries]
    assert {entry.kind for entry in entries} == {"compute", "code", "think"}


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_exercise_is_in_its_chapter_with_a_hidden_checked_solution(chapter: str) -> None:
    cells = _cells(CHAPTERS[chapter])
    text = ["".join(cell["source"]) for cell in cells]
    for key, entry in EXERCISES.items():
        if key.split(".")[0] != chapter:
            continue
        statement = [
            t
            for t, c in zip(text, cells)
            if c["cell_type"] == "markdown" and re.search(rf"\*\*{re.escape(key)}\*\*", t)
        ]
        assert statement, f"exercise {key} has no statement in {CHAPTERS[chapter]}"
        if entry.kind == "think":
            assert any("Model answer" in t and "dropdown" in t for t in text), key
            continue
        solutions = [
            c
            for t, c in zip(text, cells)
            if f'check("{key}"' in t
            and {"hide-cell", "nbval-check-output"} <= set(c["metadata"].get("tags", []))
        ]
        assert len(solutions) == 1, f"exercise {key} needs one hidden, nbval-checked solution"
        printed = "".join(
            "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            for out in solutions[0].get("outputs", [])
        )
        assert f"✓ right ({key})" in printed, f"the committed solution of {key} printed {printed!r}"
