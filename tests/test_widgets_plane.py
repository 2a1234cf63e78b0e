"""The plane of the Chapter 1 explorers: the view box check and the clipped decision line."""

from __future__ import annotations

import numpy as np
import pytest

from mapping_lib.widgets import plane

BOX = (-3.0, 3.0, -2.0, 2.0)


def on_box_edge(point, box=BOX):
    x, y = point
    x0, x1, y0, y1 = box
    inside = x0 - 1e-9 <= x <= x1 + 1e-9 and y0 - 1e-9 <= y <= y1 + 1e-9
    return inside and min(abs(x - x0), abs(x - x1), abs(y - y0), abs(y - y1)) < 1e-9


WEIGHTS = [-1e3, -3.0, -1e-6, 0.0, 0.1, 3.0, 1e3]


@pytest.mark.parametrize("w1", WEIGHTS)
@pytest.mark.parametrize("w2", WEIGHTS)
@pytest.mark.parametrize("b", [-1e3, -2.5, 0.0, 1.0])
def test_decision_line_ends_on_the_box_and_solves_the_equation(w1, w2, b):
    line = plane.decision_line(w1, w2, b, BOX)
    if w1 == w2 == 0:
        assert line is None
        return
    # Whether the line crosses the box: the corners' z values do not all share a sign.
    corners = np.array([[x, y] for x in BOX[:2] for y in BOX[2:]])
    z = corners @ [w1, w2] + b
    if z.min() > 0 or z.max() < 0:
        assert line is None
        return
    scale = abs(w1) + abs(w2)
    if line is None:  # allowed only when the line merely touches a corner: no strict crossing
        touching = np.isclose(z, 0, atol=1e-9 * (scale * 3 + abs(b)))
        assert touching.any() and not (z[~touching].min() < 0 < z[~touching].max())
        return
    for point in line:
        assert on_box_edge(point)
        assert abs(w1 * point[0] + w2 * point[1] + b) <= 1e-9 * (scale * 3 + abs(b))
    assert np.hypot(line[0][0] - line[1][0], line[0][1] - line[1][1]) > 0


def test_decision_line_special_cases():
    assert plane.decision_line(0, 0, 1, BOX) is None  # w = 0: no line at all
    assert plane.decision_line(0, 1, -1, BOX) == ((-3.0, 1.0), (3.0, 1.0))  # horizontal
    assert plane.decision_line(1, 0, 2, BOX) == ((-2.0, -2.0), (-2.0, 2.0))  # vertical
    assert plane.decision_line(1, 0, 10, BOX) is None  # x = -10 is left of the box
    diagonal = plane.decision_line(2, 3, 0, BOX)  # through the corners (-3, 2) and (3, -2)
    assert sorted(diagonal) == [(-3.0, 2.0), (3.0, -2.0)]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((True, 1.0, 0.0, BOX), TypeError, "w1 must be a finite number, got True"),
        ((1.0, [1.0, 2.0], 0.0, BOX), TypeError, "w2 must be a finite number"),
        ((1.0, 1.0, np.nan, BOX), ValueError, "b must contain only finite"),
        ((1.0, 1.0, 0.0, (0, 1, 1, 0)), ValueError, r"extent must be \(x0, x1, y0, y1\)"),
        ((1.0, 1.0, 0.0, (0, 1, 0)), ValueError, r"extent must be \(x0, x1, y0, y1\)"),
    ],
)
def test_decision_line_rejects_bad_input(arguments, error, message):
    with pytest.raises(error, match=message):
        plane.decision_line(*arguments)
