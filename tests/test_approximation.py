"""Bumps of steep sigmoids: their construction, how the error behaves, bad input, and the
kernel-backed explorer on top."""

from __future__ import annotations

import numpy as np
import pytest

from mapping_lib.approximation import (
    INTERVAL,
    N_BUMPS_RANGE,
    STEEPNESS_RANGE,
    TARGETS,
    bump_approximation,
    bump_edges,
    sigmoid,
)
from mapping_lib.widgets.approximation import approximation_explorer

CONTINUOUS = [name for name in TARGETS if name != "step"]
# The largest slope of each continuous target on INTERVAL: its Lipschitz constant there.
LIPSCHITZ = {"sine": 2.0, "abs": 1.0, "gaussian bump": np.sqrt(2 / np.e)}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("n_bumps", [N_BUMPS_RANGE[0], 3, N_BUMPS_RANGE[1]])
@pytest.mark.parametrize("steepness", [STEEPNESS_RANGE[0], 5.0, STEEPNESS_RANGE[1]])
def test_the_approximation_is_the_sum_of_its_bumps(target, n_bumps, steepness) -> None:
    result = bump_approximation(target, n_bumps, steepness, points=101)
    x = np.linspace(*INTERVAL, 101)
    np.testing.assert_array_equal(result.x, x)
    np.testing.assert_array_equal(result.target, TARGETS[target](x))
    assert result.bumps.shape == (n_bumps, 101) and len(result.edges) == n_bumps + 1
    np.testing.assert_allclose(result.approximation, result.bumps.sum(axis=0))
    # Each bump written out: h * (sigmoid(k (x - left)) - sigmoid(k (x - right))).
    for j, (left, right) in enumerate(zip(result.edges, result.edges[1:])):
        rise = 1.0 if left == -np.inf else 1 / (1 + np.exp(-steepness * (x - left)))
        fall = 0.0 if right == np.inf else 1 / (1 + np.exp(-steepness * (x - right)))
        np.testing.assert_allclose(result.bumps[j], result.heights[j] * (rise - fall), atol=1e-12)
    assert result.max_error == pytest.approx(np.abs(result.approximation - result.target).max())


def test_edges_split_the_interval_equally_and_open_outwards() -> None:
    np.testing.assert_array_equal(bump_edges(3, (0, 3)), [-np.inf, 1, 2, np.inf])
    np.testing.assert_array_equal(bump_edges(1), [-np.inf, np.inf])
    heights = bump_approximation("abs", 3, 10.0, (0.0, 3.0)).heights
    np.testing.assert_allclose(heights, [0.5, 1.5, 2.5])  # the target at the cell midpoints


@pytest.mark.parametrize("target", CONTINUOUS)
def test_with_steep_sigmoids_the_error_shrinks_as_bumps_are_added(target) -> None:
    errors = [bump_approximation(target, n, 100.0, points=2001).max_error for n in (5, 10, 20)]
    assert errors[0] > errors[1] > errors[2]
    # A staircase at the cell midpoints is off by at most slope * half a cell, plus a little
    # where the sigmoids change over.
    half_cell = (INTERVAL[1] - INTERVAL[0]) / 20 / 2
    assert errors[2] < 1.1 * LIPSCHITZ[target] * half_cell


def test_too_gentle_sigmoids_blur_many_bumps_away() -> None:
    gentle = bump_approximation("sine", 20, STEEPNESS_RANGE[0]).max_error
    steep = bump_approximation("sine", 20, STEEPNESS_RANGE[1]).max_error
    assert gentle > 1.0 and gentle > 3 * steep


def test_the_discontinuous_step_keeps_an_error_of_one_half() -> None:
    for n_bumps in (2, 10, 20):
        error = bump_approximation("step", n_bumps, STEEPNESS_RANGE[1], points=2001).max_error
        assert error == pytest.approx(0.5, abs=0.01)  # at the jump, whatever the bumps


def test_sigmoid_does_not_overflow() -> None:
    with np.errstate(all="raise"):
        np.testing.assert_allclose(sigmoid(np.array([-1e4, 0.0, 1e4])), [0.0, 0.5, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"target": "cosine"}, ValueError, "target must be one of"),
        ({"n_bumps": 0}, ValueError, "n_bumps must be a positive int"),
        ({"n_bumps": 2.5}, TypeError, "n_bumps must be a positive int"),
        ({"steepness": 0.0}, ValueError, "steepness must be a positive number"),
        ({"steepness": np.inf}, ValueError, "steepness must be a positive number"),
        ({"interval": (1.0, -1.0)}, ValueError, "interval must be"),
        ({"interval": (0.0, 1.0, 2.0)}, ValueError, "interval must be"),
        ({"interval": (0.0, np.nan)}, ValueError, "interval must contain only finite"),
        ({"points": 1}, ValueError, "points must be at least 2"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, error, message) -> None:
    arguments = {"target": "sine", "n_bumps": 4, "steepness": 10.0, **kwargs}
    with pytest.raises(error, match=message):
        bump_approximation(**arguments)


def test_the_explorer_redraws_when_a_control_moves() -> None:
    explorer = approximation_explorer("abs", 4, 10.0)
    before = bytes(explorer.image.value)
    assert before.startswith(b"\x89PNG")
    explorer.controls["n_bumps"].value = 12
    assert bytes(explorer.image.value) != before
    assert explorer.values == {"target": "abs", "n_bumps": 12, "steepness": 10.0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_bumps": 21}, "n_bumps must be a number in"), ({"steepness": 101.0}, "steepness must")],
)
def test_the_explorer_refuses_values_off_its_sliders(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        approximation_explorer(**kwargs)
