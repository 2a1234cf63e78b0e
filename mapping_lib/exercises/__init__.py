"""Checked exercises: ``check("2.3", answer)`` says right or wrong, and why, without giving the
answer away.

Each chapter's exercises live in a module of this package (``chapter1``, ``chapter2``, ...)
and register themselves with :func:`~mapping_lib.exercises.registry.exercise`. Three kinds:

* *compute*: the answer is a number (or a small array); the checker knows how to compute it;
* *code*: the answer is a function; the checker calls it on test inputs and compares with the
  library;
* *think*: a short written answer; the chapter shows a model answer behind a toggle, and
  ``check`` only says so.

A malformed answer (a string where a number is expected, a function with the wrong
signature) raises a ``TypeError`` or ``ValueError`` that says what was expected; ``None`` (the
placeholder in the chapters' exercise cells) gets "no answer yet".
"""

from __future__ import annotations

from mapping_lib.exercises.registry import EXERCISES, Exercise, Verdict, check, exercise

__all__ = ["EXERCISES", "Exercise", "Verdict", "check", "exercise"]


def _load_chapters() -> None:
    # The chapter modules register their exercises when imported.
    from mapping_lib.exercises import chapter1, chapter2, chapter3, chapter4, chapter5  # noqa: F401


_load_chapters()
