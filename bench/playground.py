"""Speed of the Playground: training against a hand-written NumPy loop, playing, redrawing.

    python -m bench.playground [--seconds 3] [--cores 2]

Targets (issue #18), on 2 CPU cores: the default setting trains at least 30 epochs/s at
batch size 1 and 300 epochs/s at batch size 10; the deepest setting does at least half as
many mini-batch updates per second as a NumPy loop on the same network in the same process;
every setting redraws at least 10 times a second, and a playing frame takes about 100 ms
at most (so that Pause and Step answer at once).

* *training*: ``PlaygroundCore.run(k)``, k epochs per call as while playing, alternated
  (``bench.timing.alternate``) with :func:`numpy_epochs`, the same epochs by hand in NumPy:
  same data, weights, mini-batches and per-epoch losses. Before timing, both train two
  epochs from the same start and the bench prints how far their losses differ.
* *step*: ``PlaygroundCore.step()``, one epoch per call, as the Step button does.
* *playing*: the real play loop for a while: epochs/s, frames/s and the longest frame.
* *redraw*: ``Playground.redraw()``: one batched heatmap call, the three pictures drawn with
  PIL and encoded as PNG, and the widget values set.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

DEEPEST = "pg1;data=spiral;feat=x1,x2,x1^2,x2^2,x1*x2,sin(x1),sin(x2);net=8,8,8,8,8,8;act=relu"
SETTINGS = {
    "default: circle, 4-2 tanh, batch 10": "pg1;data=circle;net=4,2;act=tanh;batch=10",
    "default at batch 1": "pg1;data=circle;net=4,2;act=tanh;batch=1",
    "deepest: spiral, 7 features, 6x8, batch 10": f"{DEEPEST};batch=10;test=1",
    "worst: the same, batch 1, 90 % training": f"{DEEPEST};batch=1;train=90;test=1",
}
EPOCHS_TARGETS = {"default: circle, 4-2 tanh, batch 10": 300.0, "default at batch 1": 30.0}
NUMPY_RATIO_TARGET = ("deepest: spiral, 7 features, 6x8, batch 10", 0.5)
REDRAWS_TARGET = 10.0
FRAME_LIMIT = 0.1
REPEATS = 5

NUMPY_ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (np.tanh, lambda z, a: 1 - a * a),
    "relu": (lambda z: np.maximum(z, 0), lambda z, a: (z > 0).astype(z.dtype)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z, a: a * (1 - a)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
}


def numpy_epochs(
    weights: list[tuple[np.ndarray, np.ndarray]],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    batches: np.ndarray,
    learning_rate: float,
    activation: str,
    classification: bool,
) -> np.ndarray:
    """The Playground's training by hand: SGD on ``weights`` in place, (epochs, 2) losses.

    Hidden layers a = f(a @ W + b), a linear output z; the mean log-loss from logits
    (dL/dz = (sigmoid(z) - y) / N) or mean squared error (2 (z - y) / N); backward layer by
    layer, then w -= learning_rate * dL/dw. No penalty: the settings here have none.
    """
    f, slope = NUMPY_ACTIVATIONS[activation]
    x_train, y_train, x_test, y_test = data
    last = len(weights) - 1

    def forward(a: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        inputs, zs, outputs = [], [], []
        for i, (kernel, bias) in enumerate(weights):
            inputs.append(a)
            z = a @ kernel + bias
            a = f(z) if i < last else z
            zs.append(z)
            outputs.append(a)
        return inputs, zs, outputs

    def loss(x: np.ndarray, y: np.ndarray) -> float:
        z = forward(x)[2][-1]
        if classification:
            return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
        return float(np.mean((z - y) ** 2))

    recorded = []
    for epoch in batches:
        for rows in epoch:
            y = y_train[rows]
            inputs, zs, outputs = forward(x_train[rows])
            z = outputs[-1]
            grad = (1 / (1 + np.exp(-z)) - y if classification else 2 * (z - y)) / len(y)
            for i in range(last, -1, -1):
                kernel, bias = weights[i]
                if i < last:
                    grad = grad * slope(zs[i], outputs[i])
                grad_kernel, grad_bias = inputs[i].T @ grad, grad.sum(axis=0)
                if i:
                    grad = grad @ kernel.T  # before the update: the chain rule needs the old W
                kernel -= learning_rate * grad_kernel
                bias -= learning_rate * grad_bias
        recorded.append((loss(x_train, y_train), loss(x_test, y_test)))
    return np.array(recorded)


def rate(action: Callable[[], int], seconds: float) -> float:
    """Items per second of ``action`` (which returns how many items it did), after a warm-up."""
    action()
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += action()
    return done / elapsed


def measure(text: str, seconds: float) -> dict[str, float]:
    """Training, NumPy-loop, step, playing and redraw figures of one setting."""
    from bench.timing import alternate
    from mapping_lib.playground import Playground, PlaygroundCore
    from mapping_lib.playground.features import feature_matrix
    from mapping_lib.playground.training import shuffled_batches

    class TimedPlayground(Playground):
        """The real view, logging (epochs, seconds) of every frame its play loop runs."""

        def __init__(self, config: str) -> None:
            super().__init__(config)
            self.frames: list[tuple[int, float]] = []

        def run(self, epochs: int) -> None:
            started = time.perf_counter()
            super().run(epochs)
            self.frames.append((epochs, time.perf_counter() - started))

    core = PlaygroundCore(text)
    config, n = core.config, len(core.data.x_train)
    features = core.features
    data = (
        feature_matrix(core.data.x_train, features),
        core.data.y_train[:, None],
        feature_matrix(core.data.x_test, features),
        core.data.y_test[:, None],
    )
    weights = [(kernel.copy(), bias.copy()) for kernel, bias in core.weights()]
    rng = np.random.default_rng(config.seed)  # the core's own batch order, for the check

    def numpy_run(epochs: int) -> np.ndarray:
        batches = shuffled_batches(rng, n, config.batch_size, epochs)
        classification = config.problem == "classification"
        return numpy_epochs(
            weights, data, batches, config.learning_rate, config.activation, classification
        )

    core.run(2)
    history = np.column_stack([core.history["train_loss"], core.history["test_loss"]])
    result = {"deviation": float(np.max(np.abs(numpy_run(2) - history)))}

    per_epoch = math.ceil(n / config.batch_size)
    # Epochs per timed call: what a ~50 ms training share of a playing frame holds.
    started = time.perf_counter()
    core.run(1)
    epochs = max(1, round(0.05 / (time.perf_counter() - started)))
    started = time.perf_counter()
    numpy_run(1)
    numpy_epochs_per_call = max(1, round(0.05 / (time.perf_counter() - started)))

    def train() -> int:
        core.run(epochs)
        return epochs * per_epoch

    def by_hand() -> int:
        numpy_run(numpy_epochs_per_call)
        return numpy_epochs_per_call * per_epoch

    repeats = max(REPEATS, round(seconds / 0.1))
    rates = alternate({"playground": train, "numpy": by_hand}, repeats)
    result["updates"] = statistics.median(rates["playground"])
    result["numpy"] = statistics.median(rates["numpy"])
    result["epochs"] = result["updates"] / per_epoch

    def one_step() -> int:
        core.step()
        return 1

    result["steps"] = rate(one_step, seconds)

    view = TimedPlayground(text)
    view.run(1)  # trace and compile before playing
    view.frames.clear()
    before, started = view.core.epoch, time.perf_counter()
    view.play()
    time.sleep(seconds)
    view.pause()
    elapsed = time.perf_counter() - started
    result["playing"] = (view.core.epoch - before) / elapsed
    result["frames"] = len(view.frames) / elapsed
    frame_times = [frame_seconds for _, frame_seconds in view.frames]
    result["median frame"], result["longest frame"] = (
        statistics.median(frame_times),
        max(frame_times),
    )
    result["frame epochs"] = max(frame_epochs for frame_epochs, _ in view.frames)

    def redraw() -> int:
        view.redraw()
        return 1

    trained = rate(redraw, seconds)
    view.core.reset()  # an untrained network draws differently (flat heatmaps compress better)
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
    results = {name: measure(text, args.seconds) for name, text in SETTINGS.items()}
    print(
        f"\n{'setting':<44} {'epochs/s':>9} {'updates/s':>10} {'NumPy upd/s':>11} {'ratio':>6} "
        f"{'|d loss|':>8} {'steps/s':>8}"
    )
    for name, r in results.items():
        print(
            f"{name:<44} {r['epochs']:>9.0f} {r['updates']:>10.0f} {r['numpy']:>11.0f} "
            f"{r['updates'] / r['numpy']:>5.2f}x {r['deviation']:>8.1e} {r['steps']:>8.0f}"
        )
    print(
        f"\n{'setting':<44} {'playing ep/s':>12} {'frames/s':>9} {'median frame':>13} "
        f"{'longest':>8} {'max ep/frame':>12} {'redraws/s':>10}"
    )
    for name, r in results.items():
        print(
            f"{name:<44} {r['playing']:>12.0f} {r['frames']:>9.1f} "
            f"{r['median frame'] * 1000:>10.0f} ms {r['longest frame'] * 1000:>5.0f} ms "
            f"{r['frame epochs']:>12.0f} "
            f"{r['redraws']:>10.1f}"
        )
    print("\ntargets:")
    for name, target in EPOCHS_TARGETS.items():
        epochs = results[name]["epochs"]
        verdict = "meets" if epochs >= target else "MISSES"
        print(f"  {name}: >= {target:.0f} epochs/s: {verdict} ({epochs / target:.1f}x)")
    name, target = NUMPY_RATIO_TARGET
    ratio = results[name]["updates"] / results[name]["numpy"]
    verdict = "meets" if ratio >= target else "MISSES"
    print(f"  {name}: >= {target}x the NumPy loop's updates/s: {verdict} ({ratio:.2f}x)")
    for name, r in results.items():
        redraws = "meets" if r["redraws"] >= REDRAWS_TARGET else "MISSES"
        frame = "meets" if r["longest frame"] <= FRAME_LIMIT else "MISSES"
        print(
            f"  {name}: >= {REDRAWS_TARGET:.0f} redraws/s {redraws} "
            f"({r['redraws'] / REDRAWS_TARGET:.1f}x), frames <= {FRAME_LIMIT * 1000:.0f} ms "
            f"{frame} (longest {r['longest frame'] * 1000:.0f} ms)"
        )


if __name__ == "__main__":
    main()
