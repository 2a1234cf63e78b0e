"""The static neuron explorer: its spec, its controls and its refusals."""

from __future__ import annotations

import json

import pytest

from mapping_lib.static.neuron import FORMULAS, MAX_RESOLUTION, neuron_view
from mapping_lib.widgets.neuron import NEURON_ACTIVATIONS, NEURON_LIMIT


def test_every_neuron_activation_has_a_formula() -> None:
    assert set(FORMULAS) == set(NEURON_ACTIVATIONS)
    assert all("datum.z" in formula("datum.z") for formula in FORMULAS.values())


def test_the_view_offers_the_widgets_controls_and_starts_where_asked() -> None:
    spec = neuron_view(w1=-1.5, w2=2.0, b=0.3, activation="tanh").to_dict()
    params = {param["name"]: param for param in spec["params"]}
    assert {name: params[name]["value"] for name in ("w1", "w2", "b", "activation")} == {
        "w1": -1.5,
        "w2": 2,
        "b": 0.3,
        "activation": "tanh",
    }
    for name in ("w1", "w2", "b"):
        bind = params[name]["bind"]
        assert (bind["min"], bind["max"], bind["step"]) == (-NEURON_LIMIT, NEURON_LIMIT, 0.1)
    assert params["activation"]["bind"]["options"] == list(NEURON_ACTIVATIONS)


def test_the_browser_generates_the_grid_and_the_spec_stays_small() -> None:
    spec = neuron_view(resolution=40).to_dict()
    plane, line = spec["layer"]
    assert plane["data"]["sequence"]["stop"] == 40 * 40
    assert line["data"]["sequence"]["stop"] == 2  # the two ends of the decision line
    assert len(json.dumps(spec)) < 10_000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activation": "softmax"}, "activation must be one of"),
        ({"w1": 3.5}, "w1 must be a number in"),
        ({"b": -4.0}, "b must be a number in"),
        ({"extent": (1.0, -1.0, 0.0, 1.0)}, "extent must be"),
        ({"resolution": 1}, "resolution must be at least 2"),
        ({"resolution": MAX_RESOLUTION + 1}, "resolution must be at most"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        neuron_view(**kwargs)
