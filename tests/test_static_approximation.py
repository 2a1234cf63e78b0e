"""The static universal-approximation explorer: its spec, its table, its refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mapping_lib.approximation import N_BUMPS_RANGE, STEEPNESS_RANGE, TARGETS, bump_approximation
from mapping_lib.static.approximation import FORMULAS, approximation_view, bump_table


def test_every_target_has_a_formula() -> None:
    assert set(FORMULAS) == set(TARGETS)


def test_the_view_offers_every_target_and_its_parameters() -> None:
    spec = approximation_view("abs", n_bumps=9, steepness=40.0).to_dict()
    params = {param["name"]: param for param in spec["params"]}
    assert params["target"]["value"] == "abs"
    assert params["target"]["bind"]["options"] == list(TARGETS)
    assert params["n"]["value"] == 9 and params["k"]["value"] == 40.0
    assert [params["n"]["bind"][key] for key in ("min", "max")] == list(N_BUMPS_RANGE)
    assert [params["k"]["bind"][key] for key in ("min", "max")] == list(STEEPNESS_RANGE)
    # The browser generates the grid: one row per grid point and possible bump.
    assert spec["data"]["sequence"]["stop"] == 201 * N_BUMPS_RANGE[1]
    assert len(json.dumps(spec)) < 400_000


def test_the_table_holds_the_compute_functions_bumps() -> None:
    rows = {row["key"]: row for row in bump_table()}
    assert len(rows) == len(TARGETS) * sum(range(N_BUMPS_RANGE[0], N_BUMPS_RANGE[1] + 1))
    for name in TARGETS:
        for n_bumps in (1, 7, N_BUMPS_RANGE[1]):
            result = bump_approximation(name, n_bumps, 1.0)
            chosen = [rows[f"{name}|{n_bumps}|{j}"] for j in range(n_bumps)]
            np.testing.assert_allclose([row["height"] for row in chosen], result.heights)
            lefts = [-np.inf if row["left"] is None else row["left"] for row in chosen]
            rights = [np.inf if row["right"] is None else row["right"] for row in chosen]
            np.testing.assert_allclose(lefts, result.edges[:-1])
            np.testing.assert_allclose(rights, result.edges[1:])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "cosine"}, "target must be one of"),
        ({"n_bumps": 21}, "n_bumps must be a number in"),
        ({"steepness": 200.0}, "steepness must be a number in"),
        ({"interval": (2.0, 1.0)}, "interval must be"),
        ({"points": 241}, "points must be a number in"),
        ({"points": 1}, "points must be at least 2"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        approximation_view(**kwargs)
