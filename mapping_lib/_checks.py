"""Argument checks shared by the public API.

Every check names the argument and what was expected, so a learner who passes
``units=-3`` reads ``units must be a positive int, got -3`` instead of a shape
error three frames deep inside TensorFlow.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int > 0, else raise naming ``name``."""
    if not _is_int(value):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 0."""
    if not _is_int(value):
        raise TypeError(f"{name} must be a non-negative int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def _real(name: str, value: Any, expected: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is finite and > 0."""
    result = _real(name, value, "a positive number")
    if result <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return result


def non_negative_float(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is finite and >= 0."""
    result = _real(name, value, "a non-negative number")
    if result < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return result


def in_range(name: str, value: Any, low: float, high: float, *, closed: str = "[)") -> float:
    """Return ``value`` as a float if it lies in the interval from ``low`` to ``high``.

    ``closed`` uses interval notation: "[)" includes ``low`` and excludes ``high``.
    """
    interval = f"{closed[0]}{low}, {high}{closed[1]}"
    result = _real(name, value, f"a number in {interval}")
    above = result >= low if closed[0] == "[" else result > low
    below = result <= high if closed[1] == "]" else result < high
    if not (above and below):
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return result


def one_of(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def finite_array(name: str, value: Any, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``value`` as a NumPy array if it is numeric, finite and of the expected rank."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged lists end up here
        kind = type(value).__name__
        raise TypeError(f"{name} must be an array of numbers, got {kind}") from error
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must be an array of numbers, got dtype {array.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if array.ndim not in allowed:
            wanted = " or ".join(str(n) for n in allowed)
            raise ValueError(
                f"{name} must have rank {wanted}, got shape {array.shape} (rank {array.ndim})"
            )
    if array.size and not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} must contain only finite numbers, found {bad} NaN/inf values")
    return array


def same_length(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """Raise if ``a`` and ``b`` do not have the same number of examples."""
    if len(a) != len(b):
        raise ValueError(
            f"{name_a} and {name_b} must have the same number of examples, "
            f"got {len(a)} and {len(b)}"
        )


MAX_SEED = 2**32 - 1
"""The largest seed: NumPy's and Keras' global seeding accept 0 .. 2**32 - 1."""


def seed(name: str, value: Any) -> int:
    """Return ``value`` if it is an int from 0 to ``MAX_SEED``."""
    expected = "a non-negative int below 2**32"
    if not _is_int(value):
        raise TypeError(f"{name} must be {expected}, got {value!r}")
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def dtype_kind(value: Any) -> tuple[str, str]:
    """The kind ("bool", "int", "float" or "other") and the dtype name of an array-like.

    Reads ``value.dtype`` where there is one (NumPy, TensorFlow and Keras tensors) instead of
    converting, so it also works on symbolic tensors inside a ``tf.function``. A ragged list
    has kind "other" and the name "ragged list".
    """
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(value).dtype
        except (TypeError, ValueError):  # ragged lists end up here
            return "other", f"ragged {type(value).__name__}"
    name = str(getattr(dtype, "name", dtype))
    if name == "bool":
        return "bool", name
    if name.startswith(("int", "uint")):
        return "int", name
    if name.startswith("float") or name == "bfloat16":
        return "float", name
    return "other", name


def numeric_dtype(
    name: str,
    value: Any,
    *,
    kinds: tuple[str, ...] = ("bool", "int", "float"),
    expected: str = "real numbers (bool, int or float)",
    hint: str = "",
) -> None:
    """Raise TypeError unless the entries of ``value`` are of one of ``kinds``.

    Strings and objects would otherwise reach TensorFlow, which fails inside its own ops,
    and complex numbers would be cast to real silently. ``hint`` ends the message.
    """
    kind, dtype = dtype_kind(value)
    if kind not in kinds:
        got = dtype if dtype.startswith("ragged") else f"dtype {dtype}"
        raise TypeError(f"{name} must hold {expected}, got {got}{hint}")


def path(name: str, value: Any) -> Path:
    """Return ``value`` as a Path if it is a non-empty str, bytes or os.PathLike.

    An int would be taken for a file descriptor by ``open`` and "" for the current folder.
    """
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(value).__name__}")
    if not os.fspath(value):
        raise ValueError(f"{name} must be a path (str or os.PathLike), got an empty string")
    return Path(value)
