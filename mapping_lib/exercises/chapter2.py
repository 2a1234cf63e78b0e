"""Exercises of Chapter 2 (backpropagation): the chain rule on a graph, the seed neuron, a dense
layer's backward pass, softmax with cross-entropy, gradient checking, the stable learning rate
and Adam. Every expected value is computed here, with TensorFlow or ``mapping_lib``.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from mapping_lib import layers, losses, optim
from mapping_lib.exercises.registry import callable_answer, close_to, exercise, number, same_array

GRAPH_POINT = (1.5, -0.5)  # (a, b) of exercise 2.1
NEURON = {"x": (1.0, 2.0), "w": (0.1, 0.2), "b": 0.3, "target": 0.0}  # exercise 2.2


def _sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def _judge(eid: str, answer: Any, expected: float, slips: dict[str, float]) -> tuple[bool, str]:
    """Right, a recognised slip (named, without its value), or too large/small."""
    value = number(eid, answer)
    if math.isclose(value, expected, rel_tol=1e-3, abs_tol=1e-6):
        return True, "that is the value"
    for slip, wrong in slips.items():
        if math.isclose(value, wrong, rel_tol=1e-3, abs_tol=1e-6):
            return False, f"{value:g} is what you get {slip}"
    return close_to(value, expected)


def _takes(eid: str, answer: Any, names: tuple[str, ...]) -> Callable[..., Any]:
    """``answer`` if it is a function that accepts the arguments ``names``, else a TypeError."""
    function = callable_answer(eid, answer)
    try:
        inspect.signature(function).bind(*names)
    except TypeError:
        raise TypeError(
            f"the answer to {eid} must be a function taking ({', '.join(names)}), "
            f"got one with signature {inspect.signature(function)}"
        ) from None
    except ValueError:  # no signature to inspect (some builtins): let the call decide
        pass
    return function


def _call(function: Callable[..., Any], args: tuple, parts: int) -> tuple[list | None, str]:
    """The reader's results as ``parts`` float64 arrays, or None and why they are not."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = function(*args)
    except Exception as error:  # the reader's code: any failure is a wrong answer
        return None, f"raised {type(error).__name__}: {error}"
    if result is None:
        return None, "returned None (replace the placeholder `return None` with your code)"
    if parts > 1 and (not isinstance(result, tuple | list) or len(result) != parts):
        return None, f"must return a tuple of {parts} arrays, got {type(result).__name__}"
    try:
        arrays = [np.asarray(r, dtype=np.float64) for r in (result if parts > 1 else [result])]
    except (TypeError, ValueError) as error:
        return None, f"returned something that is not an array of numbers ({error})"
    if not all(np.all(np.isfinite(a)) for a in arrays):
        return None, "returned values that are not finite"
    return arrays, ""


def _compare(eid: str, function: Callable, cases: list, names: tuple[str, ...]) -> tuple[bool, str]:
    """Run ``cases`` (description, args, expected arrays) and report the first that fails."""
    for case, args, expected in cases:
        got, why = _call(function, args, len(expected))
        if got is None:
            return False, f"for {case} your function {why}"
        for name, g, e in zip(names, got, expected):
            failed = same_array(eid, g, e, f"{case}, {name}", atol=1e-9)
            if failed:
                return failed
    return True, f"right for all {len(cases)} test cases"


@exercise("2.1", "compute", "A node used twice: df/da for f = σ(ab)·(a + b)")
def _graph(answer: Any) -> tuple[bool, str]:
    a = tf.Variable(GRAPH_POINT[0], dtype=tf.float64)
    b = tf.constant(GRAPH_POINT[1], dtype=tf.float64)
    with tf.GradientTape() as tape:
        f = tf.sigmoid(a * b) * (a + b)
    s = _sigmoid(GRAPH_POINT[0] * GRAPH_POINT[1])
    slips = {
        "from the path through σ(a·b) alone: a has a second use": s * (1 - s) * GRAPH_POINT[1],
        "from the path through a + b alone: a has a second use": s,
    }
    return _judge("2.1", answer, float(tape.gradient(f, a)), slips)


@exercise("2.2", "compute", "The seed neuron with target 0: dL/dW2")
def _neuron(answer: Any) -> tuple[bool, str]:
    w = tf.Variable(NEURON["w"], dtype=tf.float64)
    x = tf.constant(NEURON["x"], dtype=tf.float64)
    with tf.GradientTape() as tape:
        y_t = tf.sigmoid(tf.tensordot(w, x, axes=1) + NEURON["b"])
        loss = tf.square(y_t - NEURON["target"])
    expected = float(tape.gradient(loss, w)[1])
    y, x2 = float(y_t), NEURON["x"][1]
    upstream = 2 * (y - NEURON["target"])
    slips = {
        "without the sigmoid's local derivative y(1 - y)": upstream * x2,
        # x2 = 2: dropping the square's factor 2 or the input x2 gives the same number
        "with a factor 2 missing (the square's, or the input x2)": upstream / 2 * y * (1 - y) * x2,
    }
    return _judge("2.2", answer, expected, slips)


def _dense_reference(x: np.ndarray, kernel: np.ndarray, delta: np.ndarray) -> list[np.ndarray]:
    """(dL/dX, dL/dW, dL/db) from ``mapping_lib.layers.Dense``'s own backward pass."""
    layer = layers.Dense(kernel.shape[1], dtype="float64")  # linear: dL/dZ is the upstream
    layer.build(x.shape)
    layer.kernel.assign(kernel)
    layer(x)
    grad_x = layer.backward(delta).numpy()
    return [grad_x, *(g.numpy() for g in layer.grads)]


@exercise("2.3", "code", "A dense layer's backward pass: dX, dW, db from dZ")
def _dense(answer: Any) -> tuple[bool, str]:
    names = ("x", "kernel", "delta")
    function = _takes("2.3", answer, names)
    rng = np.random.default_rng(3)
    cases = []
    for n, inputs, units in ((4, 3, 2), (1, 3, 2), (6, 2, 1)):
        args = (rng.normal(size=(n, inputs)), rng.normal(size=(inputs, units)))
        delta = rng.normal(size=(n, units))
        case = f"a batch of {n}, {inputs} inputs, {units} unit{'s' * (units > 1)}"
        cases.append((case, (*args, delta), _dense_reference(*args, delta)))
    return _compare("2.3", function, cases, ("dL/dX", "dL/dW", "dL/db"))


@exercise("2.4", "code", "Softmax with cross-entropy: dL/dZ from logits")
def _cross_entropy(answer: Any) -> tuple[bool, str]:
    function = _takes("2.4", answer, ("logits", "labels"))
    rng = np.random.default_rng(4)
    loss = losses.CategoricalCrossentropy(from_logits=True, dtype="float64")
    cases = []
    for case, n, classes, shift in (
        ("a batch of 5 with 3 classes", 5, 3, 0.0),
        ("a single example with 4 classes", 1, 4, 0.0),
        ("a batch of 3 with logits near 1000", 3, 3, 1000.0),
    ):
        logits = 3 * rng.normal(size=(n, classes)) + shift
        labels = np.eye(classes)[rng.integers(0, classes, size=n)]
        expected = [loss.gradient(labels, logits).numpy()]
        cases.append((case, (logits, labels), expected))
    return _compare("2.4", function, cases, ("dL/dZ",))


exercise("2.5", "think", "Gradient checking: why h², why float64")(None)


def _quadratic(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    return x**2 + x * y + 2 * y**2  # the loss of exercise 2.6


@exercise("2.6", "compute", "The largest stable learning rate on a tilted bowl")
def _learning_rate(answer: Any) -> tuple[bool, str]:
    point = tf.Variable([0.3, -0.2], dtype=tf.float64)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            loss = _quadratic(point[0], point[1])
        gradient = inner.gradient(loss, point)
    hessian = outer.jacobian(gradient, point).numpy()
    curvatures = np.linalg.eigvalsh(hessian)
    slips = {
        "from the largest diagonal entry of the Hessian: the steepest direction is not an axis": (
            2 / np.diag(hessian).max()
        ),
        "from the shallowest curvature, which sets the speed, not the limit": 2 / curvatures.min(),
    }
    return _judge("2.6", answer, float(2 / curvatures.max()), slips)


ADAM_ARGS = ("theta", "g", "m", "s", "t", "eta", "beta_1", "beta_2", "epsilon")


def _adam_reference(gradients: np.ndarray, eta: float, b1: float, b2: float, eps: float) -> list:
    """θ after each step of ``mapping_lib.optim.Adam`` (float64) from θ = 1, fed ``gradients``."""
    theta = tf.Variable(np.ones(gradients.shape[1]), dtype=tf.float64)
    adam = optim.Adam(learning_rate=eta, beta_1=b1, beta_2=b2, epsilon=eps)
    thetas = []
    for g in gradients:
        adam.apply_gradients([(tf.constant(g), theta)])
        thetas.append(theta.numpy().copy())
    return thetas


@exercise("2.7", "code", "One Adam step, bias correction included")
def _adam(answer: Any) -> tuple[bool, str]:
    function = _takes("2.7", answer, ADAM_ARGS)
    rng = np.random.default_rng(7)
    scales = np.array([1e3, 1.0, 1e-3, 0.0])  # Adam's step should hardly depend on the scale
    settings = ((0.1, 0.9, 0.999, 1e-7, 5), (0.01, 0.5, 0.9, 1e-3, 3))
    for eta, b1, b2, eps, steps in settings:
        gradients = scales * rng.normal(size=(steps, len(scales)))
        expected = _adam_reference(gradients, eta, b1, b2, eps)
        theta, m, s = np.ones(len(scales)), np.zeros(len(scales)), np.zeros(len(scales))
        for t, (g, want) in enumerate(zip(gradients, expected), start=1):
            case = f"step {t} with eta={eta}, beta_1={b1}, beta_2={b2}, epsilon={eps}"
            got, why = _call(function, (theta, g.copy(), m, s, t, eta, b1, b2, eps), 3)
            if got is None:
                return False, f"for {case} your function {why}"
            theta, m, s = got
            failed = same_array("2.7", theta, want, f"{case}, theta", atol=1e-9)
            if failed:
                return failed
    return True, f"right at every step of {len(settings)} walks"


exercise("2.8", "think", "Adam at the saddle and late in the valley")(None)

CONV_FAN_IN = 3 * 3 * 32  # exercise 2.9: the seed CNN's second convolution, 3x3 over 32 channels
CONV_FAN_OUT = 3 * 3 * 64  # ... with 64 filters: what Xavier would also use


@exercise("2.9", "compute", "He initialisation: the weights' standard deviation for a fan-in")
def _he_std(answer: Any) -> tuple[bool, str]:
    from mapping_lib import initialisation

    he = initialisation.weight_variance("he", CONV_FAN_IN)
    slips = {
        "for the variance, not the standard deviation": he,
        "with Var[w] = 1/n_in, the rule for linear or tanh layers, not ReLU": math.sqrt(
            initialisation.weight_variance("lecun", CONV_FAN_IN)
        ),
        "with Xavier's 2/(n_in + n_out), made for tanh, not ReLU": math.sqrt(
            initialisation.weight_variance("xavier", CONV_FAN_IN, CONV_FAN_OUT)
        ),
        "with the fan-in of one channel (3·3) instead of all 32": math.sqrt(2 / 9),
    }
    return _judge("2.9", answer, math.sqrt(he), slips)


DELTA_ARGS = ("z_values", "kernels", "top_delta")


def _deltas_reference(
    x: np.ndarray, kernels: list[np.ndarray], upstream: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(Z^1..Z^L, dL/dZ^1..dL/dZ^L) of a ReLU stack from GradientTape, in float64."""
    z_values = []
    with tf.GradientTape() as tape:
        values = tf.constant(x)
        for kernel in kernels:
            z = values @ tf.constant(kernel)
            tape.watch(z)
            z_values.append(z)
            values = tf.nn.relu(z)
        loss = tf.reduce_sum(values * upstream)
    deltas = tape.gradient(loss, z_values)
    return [z.numpy() for z in z_values], [d.numpy() for d in deltas]


@exercise("2.10", "code", "The backward recursion of a ReLU stack: every Δ^l from Δ^L")
def _deltas(answer: Any) -> tuple[bool, str]:
    function = _takes("2.10", answer, DELTA_ARGS)
    rng = np.random.default_rng(10)
    for widths in ((3, 4, 2), (5, 6, 6, 4, 3)):
        kernels = [rng.normal(size=(m, n)) for m, n in zip(widths, widths[1:])]
        x = rng.normal(size=(7, widths[0]))
        upstream = rng.normal(size=(7, widths[-1]))
        z_values, expected = _deltas_reference(x, kernels, upstream)
        case = f"a stack of {len(kernels)} layers of widths {widths}"
        args = ([z.copy() for z in z_values], [k.copy() for k in kernels], expected[-1].copy())
        got, why = _call(function, args, len(kernels))
        if got is None:
            return False, f"for {case} your function {why}"
        for layer, (g, e) in enumerate(zip(got, expected), start=1):
            failed = same_array("2.10", g, e, f"{case}, delta of layer {layer}", atol=1e-9)
            if failed:
                return failed
    return True, "right for stacks of 2 and 4 layers"
