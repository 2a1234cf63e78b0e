"""Optimizer explorer: gradient descent and its variants on 2-D loss surfaces.

The pure part is :func:`optimizer_trajectory`: it puts a point on a surface in a
``tf.Variable`` and lets an optimizer (:mod:`mapping_lib.optim`'s SGD and Adam, Keras'
Adagrad and RMSprop) walk it downhill,
recording every point and loss. :func:`plot_trajectories` draws one or more
walks on the contour plot next to their loss per step, and
:func:`optimizer_explorer` wires both to sliders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mapping_lib import _checks, optim
from mapping_lib.widgets import Explorer

# The gap to the minimum is drawn on a log axis; exact zeros would vanish from it.
_LOG_FLOOR = 1e-12


@dataclass(frozen=True)
class Surface:
    """A loss surface f(x, y) over the plane, written with arithmetic only.

    Arithmetic alone keeps ``function`` usable on NumPy grids (for contours)
    and on TensorFlow tensors (for gradients) alike.
    """

    name: str
    formula: str
    function: Callable[[object, object], object]
    extent: tuple[float, float, float, float]
    minima: tuple[tuple[float, float], ...]
    minimum_value: float
    start: tuple[float, float]

    def __call__(self, x: object, y: object) -> object:
        return self.function(x, y)


SURFACES: dict[str, Surface] = {
    surface.name: surface
    for surface in (
        Surface(
            name="bowl",
            formula=r"$\frac{1}{2}x^2 + 5y^2$",
            # Curvatures 1 and 10: plain gradient descent is stable only for lr < 2/10.
            function=lambda x, y: 0.5 * x**2 + 5.0 * y**2,
            extent=(-4.0, 4.0, -3.0, 3.0),
            minima=((0.0, 0.0),),
            minimum_value=0.0,
            start=(-3.5, 2.0),
        ),
        Surface(
            name="rosenbrock",
            formula=r"$(1-x)^2 + 100\,(y-x^2)^2$",
            function=lambda x, y: (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2,
            extent=(-2.0, 2.0, -1.0, 3.0),
            minima=((1.0, 1.0),),
            minimum_value=0.0,
            start=(-1.5, 2.0),
        ),
        Surface(
            name="saddle",
            formula=r"$\frac{1}{2}x^2 + \frac{1}{4}y^4 - \frac{1}{2}y^2$",
            # A saddle at the origin between two minima at (0, +-1); the quartic
            # term keeps the surface bounded below, so walks that escape settle.
            function=lambda x, y: 0.5 * x**2 + 0.25 * y**4 - 0.5 * y**2,
            extent=(-2.5, 2.5, -2.0, 2.0),
            minima=((0.0, 1.0), (0.0, -1.0)),
            minimum_value=-0.25,
            start=(-2.0, 0.01),
        ),
    )
}

OPTIMIZERS = ("sgd", "nesterov", "adam", "adagrad", "rmsprop")

USES_MOMENTUM = {"sgd": "momentum", "nesterov": "momentum", "adam": "beta_1", "rmsprop": "momentum"}
"""The optimizers that use the ``momentum`` setting, and what each calls it."""

# The explorer's slider ranges, by control name.
_SLIDER_RANGES: dict[str, tuple[float, float]] = {
    "learning_rate": (1e-4, 1.0),
    "momentum": (0.0, 0.99),
    "start_x": (-4.0, 4.0),
    "start_y": (-3.0, 3.0),
    "steps": (10, 500),
}


@dataclass(frozen=True)
class Trajectory:
    """The walk of one optimizer: ``points[k]`` is the point after k steps."""

    points: np.ndarray
    losses: np.ndarray
    stop_reason: str | None

    @property
    def steps_taken(self) -> int:
        """How many updates were applied (fewer than asked if the walk blew up)."""
        return len(self.points) - 1

    @property
    def diverged(self) -> bool:
        """True if the walk hit a non-finite number or ended higher than it started."""
        return self.stop_reason is not None or bool(self.losses[-1] > self.losses[0])


def get_surface(surface: str | Surface) -> Surface:
    """Look a surface up by name; a :class:`Surface` is returned as it is."""
    if isinstance(surface, Surface):
        return surface
    return SURFACES[_checks.one_of("surface", surface, SURFACES)]


def make_optimizer(name: str, learning_rate: float, momentum: float) -> keras.optimizers.Optimizer:
    """The optimizer ``name`` with ``learning_rate`` and ``momentum``.

    SGD (plain or Nesterov) and Adam come from :mod:`mapping_lib.optim`, where ``momentum``
    is Adam's ``beta_1``: both say how much of the running average of past gradients each
    step keeps. Adagrad and RMSprop are Keras' own; RMSprop takes ``momentum`` as it is,
    Adagrad has none and ignores it (see :data:`USES_MOMENTUM`).
    """
    _checks.one_of("optimizer", name, OPTIMIZERS)
    learning_rate = _checks.positive_float("learning_rate", learning_rate)
    momentum = _checks.in_range("momentum", momentum, 0.0, 1.0)
    if name == "adam":
        return optim.Adam(learning_rate=learning_rate, beta_1=momentum)
    if name == "adagrad":
        return keras.optimizers.Adagrad(learning_rate=learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate, momentum=momentum)
    return optim.SGD(learning_rate=learning_rate, momentum=momentum, nesterov=name == "nesterov")


def optimizer_trajectory(
    surface: str | Surface,
    optimizer: str,
    learning_rate: float,
    momentum: float = 0.0,
    start: tuple[float, float] | None = None,
    steps: int = 100,
) -> Trajectory:
    """Walk ``steps`` updates of ``optimizer`` downhill on ``surface`` from ``start``.

    The point is a float32 ``tf.Variable``; gradients come from GradientTape and
    the update from :mod:`mapping_lib.optim`. A walk whose loss, gradient or
    point stops being finite ends there, and ``stop_reason`` says when and why.
    """
    surface = get_surface(surface)
    point = _checks.finite_array("start", surface.start if start is None else start)
    if point.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got shape {point.shape}")
    steps = _checks.positive_int("steps", steps)
    update = make_optimizer(optimizer, learning_rate, momentum)

    variable = tf.Variable(point, dtype=tf.float32, name="point")
    loss = float(surface(variable[0], variable[1]))
    if not np.isfinite(loss):
        raise ValueError(f"start must be a point where the surface is finite, got {point.tolist()}")

    # Traced once per walk, a step runs several times faster than in eager mode
    # (200 steps: about 0.2 s instead of 1 s), which keeps the explorer responsive.
    @tf.function
    def descend() -> tf.Tensor:
        with tf.GradientTape() as tape:
            current = surface(variable[0], variable[1])
        update.apply_gradients([(tape.gradient(current, variable), variable)])
        return surface(variable[0], variable[1])

    points, losses = [variable.numpy().astype(np.float64)], [loss]
    stop_reason = None
    for step in range(1, steps + 1):
        loss = float(descend())
        moved = variable.numpy().astype(np.float64)
        if not (np.isfinite(loss) and np.all(np.isfinite(moved))):
            stop_reason = f"step {step} left the float32 range (loss {loss:.3g})"
            break
        points.append(moved)
        losses.append(loss)
    return Trajectory(points=np.array(points), losses=np.array(losses), stop_reason=stop_reason)


def _view(surface: Surface, trajectories: Mapping[str, Trajectory]) -> tuple[float, ...]:
    """The surface's own extent, widened to show every start point."""
    x0, x1, y0, y1 = surface.extent
    for trajectory in trajectories.values():
        sx, sy = trajectory.points[0]
        margin = 0.1 * max(x1 - x0, y1 - y0)
        x0, x1 = min(x0, sx - margin), max(x1, sx + margin)
        y0, y1 = min(y0, sy - margin), max(y1, sy + margin)
    return x0, x1, y0, y1


def plot_trajectories(
    surface: str | Surface,
    trajectories: Mapping[str, Trajectory],
    *,
    title: str | None = None,
    stacked: bool = False,
) -> Figure:
    """Draw each labelled walk on the contour plot and its loss per step beside it.

    The loss is shown as its gap to the surface's minimum on a log axis, so
    slow convergence and blow-ups are both visible. ``stacked`` puts the loss
    below the map instead, a narrow picture that leaves room for controls.
    """
    surface = get_surface(surface)
    if not trajectories:
        raise ValueError("trajectories must hold at least one labelled Trajectory, got none")
    if stacked:
        fig, (ax_map, ax_loss) = plt.subplots(
            2, 1, figsize=(5.6, 7.4), gridspec_kw={"height_ratios": [1.4, 1]}
        )
    else:
        fig, (ax_map, ax_loss) = plt.subplots(1, 2, figsize=(10, 4.2))
    x0, x1, y0, y1 = _view(surface, trajectories)
    xs, ys = np.meshgrid(np.linspace(x0, x1, 240), np.linspace(y0, y1, 240))
    gap = np.maximum(surface(xs, ys) - surface.minimum_value, _LOG_FLOOR)
    levels = np.geomspace(max(gap.min(), 1e-3), gap.max(), 18)
    ax_map.contourf(xs, ys, np.log10(gap), levels=30, cmap="viridis", alpha=0.25)
    ax_map.contour(xs, ys, gap, levels=levels, colors="0.45", linewidths=0.6)
    ax_map.scatter(
        *zip(*surface.minima),
        marker="*",
        s=160,
        color="gold",
        edgecolors="k",
        zorder=4,
        label="minimum",
    )
    for index, (label, trajectory) in enumerate(trajectories.items()):
        color = f"C{index}"
        px, py = trajectory.points[:, 0], trajectory.points[:, 1]
        ax_map.plot(px, py, "-", color=color, lw=1.4, marker=".", ms=3, zorder=3)
        ax_map.plot(px[0], py[0], "o", color=color, mec="k", ms=7, zorder=5)
        ax_map.plot(px[-1], py[-1], "X", color=color, mec="k", ms=8, zorder=5)
        note = "  (diverged)" if trajectory.diverged else ""
        ax_loss.semilogy(
            np.maximum(trajectory.losses - surface.minimum_value, _LOG_FLOOR),
            color=color,
            lw=1.4,
            label=f"{label}{note}",
        )
    ax_map.set_xlim(x0, x1)
    ax_map.set_ylim(y0, y1)
    ax_map.set_xlabel("x")
    ax_map.set_ylabel("y")
    ax_map.set_title(f"{surface.name}: f(x, y) = {surface.formula}", fontsize=10)
    ax_loss.set_xlabel("step")
    ax_loss.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_loss.set_ylabel(r"$f - f_{\min}$")
    ax_loss.set_title("loss above the minimum, per step", fontsize=10)
    ax_loss.grid(alpha=0.3, which="both")
    ax_loss.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def describe(trajectory: Trajectory) -> str:
    """One line saying how a walk ended."""
    if trajectory.stop_reason:
        return f"stopped: {trajectory.stop_reason}"
    x, y = trajectory.points[-1]
    verdict = "diverging, " if trajectory.diverged else ""
    return (
        f"{verdict}after {trajectory.steps_taken} steps at ({x:.3g}, {y:.3g}), "
        f"loss {trajectory.losses[-1]:.3g}"
    )


def render_optimizer(
    surface: str,
    optimizer: str,
    learning_rate: float,
    momentum: float,
    start_x: float,
    start_y: float,
    steps: int,
) -> Figure:
    """The explorer's picture for one setting of its controls."""
    trajectory = optimizer_trajectory(
        surface, optimizer, learning_rate, momentum, (start_x, start_y), steps
    )
    label = f"{optimizer}, lr={learning_rate:.3g}"
    if optimizer in USES_MOMENTUM:
        label += f", {USES_MOMENTUM[optimizer]}={momentum:.2f}"
    return plot_trajectories(surface, {label: trajectory}, title=describe(trajectory), stacked=True)


def optimizer_explorer(
    surface: str = "rosenbrock",
    optimizer: str = "nesterov",
    learning_rate: float = 0.001,
    momentum: float = 0.9,
    start: tuple[float, float] | None = None,
    steps: int = 300,
) -> Explorer:
    """Controls for surface, optimizer, learning rate, momentum, start point and steps.

    The defaults show Nesterov momentum finding its way along Rosenbrock's valley.
    """
    surface_obj = get_surface(surface)
    _checks.one_of("optimizer", optimizer, OPTIMIZERS)
    start_x, start_y = surface_obj.start if start is None else start
    settings = {
        "learning_rate": learning_rate,
        "momentum": momentum,
        "start_x": start_x,
        "start_y": start_y,
        "steps": _checks.positive_int("steps", steps),
    }
    # A slider silently clamps a value outside its range; refuse it instead.
    argument_names = {"start_x": "start[0]", "start_y": "start[1]"}
    for name, value in settings.items():
        _checks.in_range(argument_names.get(name, name), value, *_SLIDER_RANGES[name], closed="[]")

    def slider(kind: type, name: str, step: float, **options: object) -> widgets.ValueWidget:
        low, high = _SLIDER_RANGES[name]
        if kind is widgets.FloatLogSlider:
            low, high = np.log10(low), np.log10(high)
        return kind(
            value=settings[name],
            min=low,
            max=high,
            step=step,
            description=name.replace("_", " "),
            continuous_update=False,
            style={"description_width": "90px"},
            **options,
        )

    controls = {
        "surface": widgets.Dropdown(
            options=list(SURFACES), value=surface_obj.name, description="surface"
        ),
        "optimizer": widgets.Dropdown(
            options=list(OPTIMIZERS), value=optimizer, description="optimizer"
        ),
        "learning_rate": slider(
            widgets.FloatLogSlider, "learning_rate", 0.05, readout_format=".2g"
        ),
        "momentum": slider(widgets.FloatSlider, "momentum", 0.01),
        "start_x": slider(widgets.FloatSlider, "start_x", 0.05),
        "start_y": slider(widgets.FloatSlider, "start_y", 0.05),
        "steps": slider(widgets.IntSlider, "steps", 10),
    }
    return Explorer(render_optimizer, controls, title="Optimizer explorer")
