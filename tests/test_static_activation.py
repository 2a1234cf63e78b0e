"""The static activation explorer: its spec, its controls and its refusals."""

from __future__ import annotations

import pytest

from mapping_lib.static.activation import ALPHA_RANGE, FORMULAS, activation_view
from mapping_lib.widgets.activation import ACTIVATIONS


def test_every_activation_has_a_formula_for_value_and_slope() -> None:
    assert set(FORMULAS) == set(ACTIVATIONS)
    assert all(len(pair) == 2 and all(pair) for pair in FORMULAS.values())


def test_the_view_offers_every_activation_and_its_parameters() -> None:
    spec = activation_view("relu", threshold=0.1, alpha=0.2).to_dict()
    params = {param["name"]: param for param in spec["params"]}
    assert params["f"]["value"] == "relu"
    assert params["f"]["bind"]["options"] == list(ACTIVATIONS)
    assert params["threshold"]["value"] == 0.1
    assert [params["alpha"]["bind"][key] for key in ("min", "max")] == list(ALPHA_RANGE)
    assert spec["data"]["sequence"]["stop"] == 401  # the browser generates the grid


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "swish"}, "name must be one of"),
        ({"threshold": 0.5}, "threshold must be a number in"),
        ({"alpha": -0.1}, "alpha must be a number in"),
        ({"z_range": (2.0, 1.0)}, "z_range must be"),
        ({"points": 1}, "points must be at least 2"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        activation_view(**kwargs)
