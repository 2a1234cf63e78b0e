"""Tests for the optimizer explorer: the compute function first, then the thin view."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mapping_lib.widgets import optimizer as explorer
from mapping_lib.widgets.optimizer import SURFACES, optimizer_trajectory

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def numpy_gradient(f, point, eps=1e-6):
    x, y = point
    return np.array(
        [(f(x + eps, y) - f(x - eps, y)) / (2 * eps), (f(x, y + eps) - f(x, y - eps)) / (2 * eps)]
    )


def numpy_walk(surface, rule, start, steps):
    """Reference walk in float64 NumPy; ``rule(point, gradient, state, t)`` returns the step."""
    point, state, points = np.array(start, dtype=np.float64), {}, []
    points.append(point.copy())
    for t in range(1, steps + 1):
        point = point + rule(numpy_gradient(surface, point), state, t)
        points.append(point.copy())
    return np.array(points)


def heavy_ball(learning_rate, momentum, nesterov=False):
    def rule(gradient, state, _t):
        velocity = momentum * state.get("v", 0.0) - learning_rate * gradient
        state["v"] = velocity
        return momentum * velocity - learning_rate * gradient if nesterov else velocity

    return rule


def adam(learning_rate, beta_1, beta_2=0.999, epsilon=1e-7):
    def rule(gradient, state, t):
        state["m"] = beta_1 * state.get("m", 0.0) + (1 - beta_1) * gradient
        state["v"] = beta_2 * state.get("v", 0.0) + (1 - beta_2) * gradient**2
        alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        return -alpha * state["m"] / (np.sqrt(state["v"]) + epsilon)

    return rule


@pytest.mark.parametrize("learning_rate", [0.01, 0.05, 0.1, 0.15, 0.19])
def test_sgd_on_the_bowl_follows_the_closed_form(learning_rate):
    # f = x^2/2 + 5 y^2 has gradient (x, 10 y): a step scales x by (1 - lr) and y by (1 - 10 lr).
    start, steps = (-3.5, 2.0), 40
    walk = optimizer_trajectory("bowl", "sgd", learning_rate, 0.0, start, steps)
    k = np.arange(steps + 1)
    expected = np.stack(
        [start[0] * (1 - learning_rate) ** k, start[1] * (1 - 10 * learning_rate) ** k], axis=1
    )
    np.testing.assert_allclose(walk.points, expected, rtol=1e-4, atol=1e-6)
    assert walk.steps_taken == steps
    assert walk.stop_reason is None


@pytest.mark.parametrize(
    ("learning_rate", "diverges"),
    [(0.05, False), (0.15, False), (0.199, False), (0.201, True), (0.3, True), (0.5, True)],
)
def test_bowl_diverges_exactly_above_two_over_the_largest_curvature(learning_rate, diverges):
    walk = optimizer_trajectory("bowl", "sgd", learning_rate, 0.0, (-3.5, 2.0), 200)
    assert walk.diverged == diverges
    # The stiff y direction decides: |1 - 10 lr| > 1 makes y grow instead of shrink.
    assert bool(abs(walk.points[-1, 1]) > 2.0) == diverges


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("surface", ["bowl", "saddle"])
def test_momentum_walks_match_the_heavy_ball_recurrence(surface, momentum, nesterov):
    name = "nesterov" if nesterov else "sgd"
    walk = optimizer_trajectory(surface, name, 0.02, momentum, None, 30)
    reference = numpy_walk(
        SURFACES[surface], heavy_ball(0.02, momentum, nesterov), SURFACES[surface].start, 30
    )
    np.testing.assert_allclose(walk.points, reference, rtol=1e-3, atol=1e-4)


def adagrad(learning_rate, initial_accumulator=0.1, epsilon=1e-7):
    def rule(gradient, state, _t):
        state["a"] = state.get("a", initial_accumulator) + gradient**2
        return -learning_rate * gradient / np.sqrt(state["a"] + epsilon)

    return rule


def rmsprop(learning_rate, momentum, rho=0.9, epsilon=1e-7):
    def rule(gradient, state, _t):
        state["v"] = rho * state.get("v", 0.0) + (1 - rho) * gradient**2
        state["m"] = momentum * state.get("m", 0.0) + learning_rate * gradient / np.sqrt(
            state["v"] + epsilon
        )
        return -state["m"]

    return rule


@pytest.mark.parametrize("learning_rate", [0.01, 0.1, 0.5])
def test_adagrad_walk_matches_the_written_out_update(learning_rate):
    # Adagrad has no momentum: the 0.9 passed here must change nothing.
    walk = optimizer_trajectory("rosenbrock", "adagrad", learning_rate, 0.9, None, 25)
    rosenbrock = SURFACES["rosenbrock"]
    reference = numpy_walk(rosenbrock, adagrad(learning_rate), rosenbrock.start, 25)
    np.testing.assert_allclose(walk.points, reference, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("learning_rate", [0.001, 0.01])
def test_rmsprop_walk_matches_the_written_out_update(learning_rate, momentum):
    walk = optimizer_trajectory("saddle", "rmsprop", learning_rate, momentum, None, 25)
    saddle = SURFACES["saddle"]
    reference = numpy_walk(saddle, rmsprop(learning_rate, momentum), saddle.start, 25)
    np.testing.assert_allclose(walk.points, reference, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("beta_1", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("learning_rate", [0.001, 0.01, 0.05])
def test_adam_walk_matches_the_written_out_update(learning_rate, beta_1):
    walk = optimizer_trajectory("rosenbrock", "adam", learning_rate, beta_1, None, 25)
    rosenbrock = SURFACES["rosenbrock"]
    reference = numpy_walk(rosenbrock, adam(learning_rate, beta_1), rosenbrock.start, 25)
    np.testing.assert_allclose(walk.points, reference, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("optimizer", explorer.OPTIMIZERS)
@pytest.mark.parametrize("surface", list(SURFACES))
@pytest.mark.parametrize("learning_rate", [1e-4, 1e-2, 0.1, 1.0])
def test_every_walk_is_consistent_over_the_control_ranges(surface, optimizer, learning_rate):
    walk = optimizer_trajectory(surface, optimizer, learning_rate, 0.9, None, 40)
    assert walk.points.shape == (walk.steps_taken + 1, 2)
    assert walk.losses.shape == (walk.steps_taken + 1,)
    assert np.all(np.isfinite(walk.points)) and np.all(np.isfinite(walk.losses))
    assert walk.steps_taken == 40 or walk.stop_reason is not None
    f = SURFACES[surface]
    np.testing.assert_allclose(
        walk.losses, f(walk.points[:, 0], walk.points[:, 1]), rtol=1e-4, atol=1e-5
    )
    assert explorer.describe(walk)


def test_a_blow_up_stops_at_the_last_finite_point_and_says_so():
    walk = optimizer_trajectory("rosenbrock", "sgd", 0.01, 0.0, (-1.5, 2.0), 100)
    assert walk.stop_reason is not None and "float32" in walk.stop_reason
    assert walk.diverged
    assert 0 < walk.steps_taken < 100
    assert np.all(np.isfinite(walk.points)) and np.all(np.isfinite(walk.losses))
    assert explorer.describe(walk).startswith("stopped:")


def test_small_steps_descend_to_each_surfaces_minimum():
    for name, optimizer, learning_rate, steps in [
        ("bowl", "sgd", 0.1, 300),
        ("rosenbrock", "nesterov", 0.001, 1000),
        ("saddle", "sgd", 0.1, 300),
    ]:
        f = SURFACES[name]
        walk = optimizer_trajectory(name, optimizer, learning_rate, 0.9, None, steps)
        assert not walk.diverged
        assert walk.losses[-1] - f.minimum_value < 1e-3, name
        distances = [np.linalg.norm(walk.points[-1] - np.array(m)) for m in f.minima]
        assert min(distances) < 0.05, name


@pytest.mark.parametrize("name", list(SURFACES))
def test_each_surface_has_zero_slope_and_the_stated_value_at_its_minima(name):
    f = SURFACES[name]
    for minimum in f.minima:
        assert f(*minimum) == pytest.approx(f.minimum_value)
        np.testing.assert_allclose(numpy_gradient(f, np.array(minimum)), 0.0, atol=1e-6)
    x0, x1, y0, y1 = f.extent
    assert x0 <= f.start[0] <= x1 and y0 <= f.start[1] <= y1


def test_the_saddle_traps_a_walk_that_starts_on_its_ridge():
    on_ridge = optimizer_trajectory("saddle", "sgd", 0.1, 0.0, (-2.0, 0.0), 200)
    np.testing.assert_allclose(on_ridge.points[-1], [0.0, 0.0], atol=1e-6)
    nudged = optimizer_trajectory("saddle", "sgd", 0.1, 0.0, (-2.0, 0.01), 200)
    np.testing.assert_allclose(np.abs(nudged.points[-1]), [0.0, 1.0], atol=1e-3)


def test_a_surface_object_is_accepted_as_well_as_a_name():
    walk = optimizer_trajectory(SURFACES["bowl"], "adam", 0.1, 0.9, (1.0, 1.0), 5)
    assert walk.steps_taken == 5


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"surface": "himmelblau"}, ValueError, "surface must be one of"),
        ({"optimizer": "lbfgs"}, ValueError, "optimizer must be one of"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate must be a positive number"),
        ({"learning_rate": "fast"}, TypeError, "learning_rate"),
        ({"momentum": 1.0}, ValueError, "momentum must be a number in"),
        ({"momentum": -0.1}, ValueError, "momentum must be a number in"),
        ({"start": (1.0, 2.0, 3.0)}, ValueError, "start must be a point"),
        ({"start": (np.nan, 0.0)}, ValueError, "start must contain only finite"),
        ({"start": (1e20, 0.0)}, ValueError, "start must be a point where the surface is finite"),
        ({"steps": 0}, ValueError, "steps must be a positive int"),
        ({"steps": 2.5}, TypeError, "steps must be a positive int"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, message):
    arguments = {
        "surface": "rosenbrock",
        "optimizer": "sgd",
        "learning_rate": 0.001,
        "momentum": 0.0,
        "start": None,
        "steps": 5,
    }
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        optimizer_trajectory(**arguments)


def test_plot_draws_every_walk_on_the_map_and_the_loss_panel():
    walks = {
        "sgd": optimizer_trajectory("bowl", "sgd", 0.1, 0.0, None, 20),
        "too fast": optimizer_trajectory("bowl", "sgd", 0.25, 0.0, None, 20),
    }
    fig = explorer.plot_trajectories("bowl", walks, title="two walks")
    ax_map, ax_loss = fig.axes[:2]
    assert len(ax_loss.get_lines()) == 2
    labels = [text.get_text() for text in ax_loss.get_legend().get_texts()]
    assert labels == ["sgd", "too fast  (diverged)"]
    # The diverging walk starts inside the view even though it ends far outside it.
    x0, x1 = ax_map.get_xlim()
    assert x0 <= walks["too fast"].points[0, 0] <= x1
    plt.close(fig)


def test_stacked_plot_puts_the_loss_below_the_map():
    walk = optimizer_trajectory("saddle", "adam", 0.1, 0.9, None, 10)
    fig = explorer.plot_trajectories("saddle", {"adam": walk}, stacked=True)
    ax_map, ax_loss = fig.axes[:2]
    assert ax_loss.get_position().y1 < ax_map.get_position().y0
    width, height = fig.get_size_inches()
    assert height > width
    plt.close(fig)


def test_plot_needs_at_least_one_walk():
    with pytest.raises(ValueError, match="trajectories must hold at least one"):
        explorer.plot_trajectories("bowl", {})


def test_explorer_redraws_when_a_control_moves():
    view = explorer.optimizer_explorer(steps=20)
    assert set(view.controls) == {
        "surface",
        "optimizer",
        "learning_rate",
        "momentum",
        "start_x",
        "start_y",
        "steps",
    }
    first = bytes(view.image.value)
    assert first.startswith(PNG_MAGIC)
    view.controls["optimizer"].value = "sgd"
    view.controls["learning_rate"].value = 0.001
    second = bytes(view.image.value)
    assert second.startswith(PNG_MAGIC)
    assert second != first


def test_explorer_start_defaults_to_the_surfaces_start():
    view = explorer.optimizer_explorer(surface="saddle", steps=10)
    assert (view.controls["start_x"].value, view.controls["start_y"].value) == pytest.approx(
        SURFACES["saddle"].start
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"optimizer": "lbfgs"}, "optimizer must be one of"),
        ({"learning_rate": 5.0}, "learning_rate must be a number in"),
        ({"momentum": 0.995}, "momentum must be a number in"),
        ({"start": (9.0, 0.0)}, r"start\[0\] must be a number in"),
        ({"steps": 1000}, "steps must be a number in"),
        ({"surface": "himmelblau"}, "surface must be one of"),
    ],
)
def test_explorer_refuses_settings_its_controls_cannot_show(kwargs, message):
    with pytest.raises(ValueError, match=message):
        explorer.optimizer_explorer(**kwargs)
