"""mapping_lib.autodiff_cost: parameter and activation counts, forward mode against reverse mode."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mapping_lib import autodiff_cost, layers, losses, models


def _small_mlp() -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input(shape=(3,), dtype="float64"),
            layers.Dense(4, activation="tanh", dtype="float64"),
            layers.Dense(2, dtype="float64"),
        ]
    )


def test_counts_of_the_seed_cnn() -> None:
    cnn = models.seed_cnn()
    # conv 3*3*1*32+32, conv 3*3*32*64+64, dense 1600*128+128, dense 128*10+10
    assert autodiff_cost.parameter_count(cnn) == 320 + 18_496 + 204_928 + 1_290
    # the input and the outputs of conv, pool, conv, pool, flatten, dense, dense
    expected = 784 + 26 * 26 * 32 + 13 * 13 * 32 + 11 * 11 * 64 + 5 * 5 * 64 + 1600 + 128 + 10
    assert autodiff_cost.stored_floats(cnn, np.zeros((28, 28, 1), "float32")) == expected


def test_one_forward_pass_per_parameter_gives_the_gradient() -> None:
    model = _small_mlp()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), np.eye(2)[rng.integers(0, 2, size=5)]
    loss = losses.CategoricalCrossentropy(from_logits=True, dtype="float64")
    fns = autodiff_cost.loss_functions(model, loss, x, y)
    n = autodiff_cost.parameter_count(model)
    assert n == 3 * 4 + 4 + 4 * 2 + 2
    forward = [float(fns["jvp"](autodiff_cost.unit_tangents(model, k))) for k in range(n)]
    reverse = np.concatenate([g.numpy().ravel() for g in fns["gradient"]()])
    np.testing.assert_allclose(forward, reverse, rtol=1e-10, atol=1e-14)
    assert float(fns["forward"]()) == pytest.approx(float(loss(y, model(x))))


def test_unit_tangents_and_timing_check_their_arguments() -> None:
    model = _small_mlp()
    tangents = autodiff_cost.unit_tangents(model, 13)
    assert sum(float(np.sum(t)) for t in tangents) == 1.0
    assert float(tangents[1].numpy()[1]) == 1.0  # 13 = 12 kernel entries, then bias entry 1
    with pytest.raises(ValueError, match="index must be in"):
        autodiff_cost.unit_tangents(model, 26)
    with pytest.raises(ValueError, match="model must be a keras.Sequential"):
        autodiff_cost.stored_floats(object(), np.zeros(3))
    with pytest.raises(ValueError, match="repeats"):
        autodiff_cost.fastest_times({"noop": lambda: 0}, repeats=0)
    times = autodiff_cost.fastest_times({"a": lambda: 0, "b": lambda: np.zeros(3)}, repeats=2)
    assert set(times) == {"a", "b"} and all(0 <= t < 1 for t in times.values())
