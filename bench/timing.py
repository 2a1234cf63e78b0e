"""Alternate several contenders in one process and report throughput ratios.

Running A, B, A, B, ... rather than all of A then all of B spreads slow drifts
of a shared 2-core machine (another process, thermal state) over both sides.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping

import tensorflow as tf


def machine() -> str:
    """One line naming the machine and software the figures were measured with."""
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
        f"GPUs: {len(tf.config.list_physical_devices('GPU'))}, "
        # Other work on a 2-core machine moves every figure; say how busy it was.
        f"load average at start {os.getloadavg()[0]:.1f}"
    )


def alternate(
    contenders: Mapping[str, Callable[[], int]],
    repeats: int,
    warmup: bool = True,
) -> dict[str, list[float]]:
    """Run each contender ``repeats`` times in turn; each call returns the items it processed.

    Returns items per second for every run. A first untimed round pays for
    tracing and graph building, which is not what we compare.
    """
    if warmup:
        for run in contenders.values():
            run()
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            items = run()
            rates[name].append(items / (time.perf_counter() - start))
    return rates


def report(rates: Mapping[str, list[float]], baseline: str, unit: str = "samples/s") -> str:
    """A small table: median rate of each contender and its ratio to ``baseline``."""
    base = statistics.median(rates[baseline])
    lines = [f"{'contender':<34} {'median ' + unit:>18} {'ratio':>7}  runs"]
    for name, values in rates.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.0f}" for v in values)
        lines.append(f"{name:<34} {median:>18.1f} {median / base:>6.2f}x  {runs}")
    return "\n".join(lines)
