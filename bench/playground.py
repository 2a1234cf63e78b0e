"""Speed of the Playground: training steps per second and full redraws per second.

    python -m bench.playground [--seconds 3] [--cores 2]

Targets (from the issue): at least 100 training steps/s and 10 redraws/s on 2 CPU cores.

* A *step* is what the Step button does and what one epoch counter tick means: one epoch of
  mini-batch updates, trained by one compiled call (``PlaygroundCore.step()``). The table also
  gives the mini-batch updates/s inside it, and the epochs/s of the play loop, whose every
  frame trains ``epochs_per_frame`` epochs and redraws once.
* A *redraw* is ``Playground.redraw()``: one batched heatmap call, the three pictures
  (network, output, loss curve) drawn with PIL and encoded as PNG, and the widget values set.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable

DEEPEST = "pg1;data=spiral;feat=x1,x2,x1^2,x2^2,x1*x2,sin(x1),sin(x2);net=8,8,8,8,8,8;act=relu"
SETTINGS = {
    "default: circle, 4-2 tanh, batch 10": "pg1;data=circle;net=4,2;act=tanh;batch=10",
    "deepest: spiral, 7 features, 6x8, batch 10": f"{DEEPEST};batch=10;test=1",
    "worst: the same, batch 1, 90 % training": f"{DEEPEST};batch=1;train=90;test=1",
}
STEPS_TARGET = 100.0
REDRAWS_TARGET = 10.0


def rate(action: Callable[[], int], seconds: float) -> float:
    """Items per second of ``action`` (which returns how many items it did), after a warm-up."""
    action()
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += action()
    return done / elapsed


def measure(text: str, seconds: float) -> dict[str, float]:
    """Steps/s, mini-batch updates/s, play-loop epochs/s and redraws/s of one setting."""
    from mapping_lib.playground import Playground

    view = Playground(text)
    core = view.core
    frame_epochs = view.epochs_per_frame

    def one_step() -> int:
        core.step()
        return 1

    def frame() -> int:
        view.run(frame_epochs)
        return frame_epochs

    def redraw() -> int:
        view.redraw()
        return 1

    steps = rate(one_step, seconds)
    updates_per_epoch = math.ceil(len(core.data.x_train) / core.config.batch_size)
    result = {"steps": steps, "updates": steps * updates_per_epoch}
    result["playing"] = rate(frame, seconds)
    trained = rate(redraw, seconds)
    core.reset()  # an untrained network draws differently (flat heatmaps compress better)
    result["redraws"] = min(trained, rate(redraw, seconds / 3))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--cores", type=int, default=2, help="CPU cores to run on (0: all)")
    args = parser.parse_args()
    if args.cores and hasattr(os, "sched_setaffinity"):
        # Before TensorFlow starts its thread pools, so they size themselves to these cores.
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])

    from bench.timing import machine

    print(machine(), f"| pinned to {len(os.sched_getaffinity(0))} cores")
    print(
        f"{'setting':<44} {'steps/s':>8} {'updates/s':>10} {'playing ep/s':>12} {'redraws/s':>10}"
    )
    results = {name: measure(text, args.seconds) for name, text in SETTINGS.items()}
    for name, r in results.items():
        print(
            f"{name:<44} {r['steps']:>8.0f} {r['updates']:>10.0f} {r['playing']:>12.0f} "
            f"{r['redraws']:>10.1f}"
        )
    print(f"\ntargets: >= {STEPS_TARGET:.0f} steps/s and >= {REDRAWS_TARGET:.0f} redraws/s")
    for name, r in results.items():
        steps_ok = "meets" if r["steps"] >= STEPS_TARGET else "MISSES"
        redraws_ok = "meets" if r["redraws"] >= REDRAWS_TARGET else "MISSES"
        print(
            f"  {name}: steps {steps_ok} ({r['steps'] / STEPS_TARGET:.1f}x as epochs, "
            f"{r['updates'] / STEPS_TARGET:.0f}x as mini-batch updates), "
            f"redraws {redraws_ok} ({r['redraws'] / REDRAWS_TARGET:.1f}x)"
        )


if __name__ == "__main__":
    main()
