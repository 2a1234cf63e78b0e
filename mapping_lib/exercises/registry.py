"""The exercise registry, the verdict a checker returns, and the checks checkers share."""

from __future__ import annotations

import inspect
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("compute", "code", "think")
_ID = re.compile(r"^[1-9]\d*\.[1-9]\d*$")


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``correct`` and a message that explains it."""

    exercise_id: str
    correct: bool | None  # None: nothing to judge yet (no answer, or a think exercise)
    message: str

    def __bool__(self) -> bool:
        return bool(self.correct)

    def __str__(self) -> str:
        mark = {True: "✓ right", False: "✗ not yet", None: "·"}[self.correct]
        return f"{mark} ({self.exercise_id}): {self.message}"

    def _repr_markdown_(self) -> str:
        return str(self)

    __repr__ = __str__


@dataclass(frozen=True)
class Exercise:
    """One exercise: its id ("chapter.number"), kind, a one-line title and its checker."""

    exercise_id: str
    kind: str
    title: str
    checker: Callable[[Any], tuple[bool, str]] | None


EXERCISES: dict[str, Exercise] = {}
"""Every registered exercise, by id."""


def exercise(exercise_id: str, kind: str, title: str) -> Callable:
    """Register the decorated checker (``answer -> (correct, message)``) as an exercise.

    For a think exercise decorate a function that is never called (its docstring is the
    model answer's summary) or call ``exercise(...)(None)``.
    """
    if not _ID.match(exercise_id):
        raise ValueError(f"exercise_id must look like '2.3', got {exercise_id!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if exercise_id in EXERCISES:
        raise ValueError(f"exercise {exercise_id} is registered twice")

    def register(checker: Callable[[Any], tuple[bool, str]] | None) -> Any:
        EXERCISES[exercise_id] = Exercise(
            exercise_id, kind, title, checker if kind != "think" else None
        )
        return checker

    return register


def check(exercise_id: str, answer: Any) -> Verdict:
    """Check ``answer`` to exercise ``exercise_id`` (for example ``check("2.3", 0.25)``)."""
    if exercise_id not in EXERCISES:
        known = ", ".join(sorted(EXERCISES, key=lambda key: tuple(map(int, key.split(".")))))
        raise ValueError(f"exercise_id must be one of {known}; got {exercise_id!r}")
    entry = EXERCISES[exercise_id]
    if entry.kind == "think":
        return Verdict(exercise_id, None, "a think exercise: compare with the model answer")
    if answer is None:
        return Verdict(exercise_id, None, "no answer yet: replace None with yours")
    correct, message = entry.checker(answer)
    return Verdict(exercise_id, bool(correct), message)


# --- checks that checkers share -------------------------------------------------------------


def number(exercise_id: str, answer: Any) -> float:
    """``answer`` as a float, or a TypeError saying a number was expected."""
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real | np.number):
        raise TypeError(f"the answer to {exercise_id} must be a number, got {answer!r}")
    value = float(answer)
    if not math.isfinite(value):
        raise ValueError(f"the answer to {exercise_id} must be a finite number, got {answer!r}")
    return value


def close_to(
    answer: float, expected: float, *, rel: float = 1e-3, abs_: float = 1e-6
) -> tuple[bool, str]:
    """Compare a number, saying only whether a wrong one is too large or too small."""
    if math.isclose(answer, expected, rel_tol=rel, abs_tol=abs_):
        return True, "that is the value"
    direction = "too large" if answer > expected else "too small"
    hint = (
        " (check the sign)"
        if expected != 0 and math.isclose(-answer, expected, rel_tol=rel)
        else ""
    )
    return False, f"{answer:g} is {direction}{hint}"


def callable_answer(exercise_id: str, answer: Any) -> Callable[..., Any]:
    """``answer`` if it is callable, or a TypeError saying a function was expected."""
    if not callable(answer):
        raise TypeError(f"the answer to {exercise_id} must be a function, got {answer!r}")
    return answer


def call_answer(exercise_id: str, function: Callable, args: tuple) -> tuple[Any, str | None]:
    """``function(*args)`` and None, or None and why it failed (a wrong answer, not an error).

    A function that cannot take ``args`` at all is a malformed answer: TypeError.
    """
    try:
        inspect.signature(function).bind(*args)
    except TypeError:
        raise TypeError(
            f"the answer to {exercise_id} must be a function of {len(args)} argument(s)"
        ) from None
    except ValueError:  # a builtin without a signature: just try it
        pass
    try:
        result = function(*args)
    except Exception as error:  # the reader's bug: report it as a wrong answer
        return None, f"your function raised {type(error).__name__}: {error}"
    if result is None:
        return None, "your function returned None: return your result"
    return result, None


def same_array(
    exercise_id: str, got: Any, expected: np.ndarray, case: str, *, atol: float = 1e-6
) -> tuple[bool, str] | None:
    """None if ``got`` equals ``expected`` (shape and values); else a (False, why) for ``case``."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape != expected.shape:
        return False, f"for {case} the result has shape {got.shape}, expected {expected.shape}"
    if not np.allclose(got, expected, atol=atol, rtol=1e-5):
        worst = float(np.max(np.abs(got - expected)))
        return False, f"for {case} the result is off by up to {worst:.3g}"
    return None
