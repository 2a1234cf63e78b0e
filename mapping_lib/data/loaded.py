"""What the real-data loaders return: a train/test split and a sentence saying which data it is.

The sentence (``source``) is printed by every loader and appears on the book's pages, so it
names no machine path and quotes no network error; those go to the debug log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DIGITS = tuple(str(digit) for digit in range(10))
"""Class names of the digit data sets (MNIST, FSDD)."""


@dataclass(frozen=True, repr=False)
class LoadedData:
    """A train/test split plus the sentence ``source`` saying which data it is.

    ``extras`` holds per-example side information, e.g. FSDD's ``speaker_train``.
    """

    x_train: Any
    y_train: np.ndarray
    x_test: Any
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    extras: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """Shapes, class balance and source as a few readable lines."""
        train_counts = np.bincount(self.y_train, minlength=len(self.class_names))
        balance = ", ".join(
            f"{name}: {count}" for name, count in zip(self.class_names, train_counts, strict=True)
        )
        lines = [
            f"source: {self.source}",
            f"x_train: {_describe_inputs(self.x_train)}   y_train: {self.y_train.shape}",
            f"x_test:  {_describe_inputs(self.x_test)}   y_test:  {self.y_test.shape}",
            f"train examples per class: {balance}",
        ]
        lines += [
            f"extras[{key!r}]: {_summarise_extra(value)}" for key, value in self.extras.items()
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "LoadedData(\n  " + self.summary().replace("\n", "\n  ") + "\n)"


def _describe_inputs(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"{x.shape} {x.dtype}"
    lengths = [len(item) for item in x]
    return f"{len(x):,} variable-length arrays, {min(lengths):,}-{max(lengths):,} long"


def _summarise_extra(value: Any) -> str:
    if isinstance(value, np.ndarray):
        kinds = np.unique(value)
        if len(kinds) <= 10:
            return f"{value.shape}, values {', '.join(map(str, kinds))}"
        return f"{value.shape} {value.dtype}"
    return repr(value)


def announce(source: str) -> None:
    """Print a loader's ``source`` sentence."""
    # print, not logging: it must show in notebooks and in the built book without set-up.
    print(source)


def stratified_split(
    strata: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (train, test): ``test_fraction`` of every stratum goes to test, shuffled."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for stratum in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == stratum))
        cut = int(round(len(members) * test_fraction))
        test.append(members[:cut])
        train.append(members[cut:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
