"""The Playground's controls: what each widget offers and how wide it is, not yet wired.

:class:`~mapping_lib.playground.view.Playground` builds its controls with these functions,
observes them and arranges them; every setting field maps to one widget of
:func:`setting_fields`.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from mapping_lib.playground import render
from mapping_lib.playground.config import (
    ACTIVATIONS,
    LEARNING_RATES,
    MAX_NEURONS,
    REGULARIZATION_RATES,
)
from mapping_lib.playground.features import FEATURE_NAMES

DATASET_CHOICES = [
    ("Circle", "circle"),
    ("Exclusive or", "xor"),
    ("Two Gaussians", "gauss"),
    ("Spiral", "spiral"),
    ("Digits (real data)", "digits"),
    ("Regression: plane", "reg-plane"),
    ("Regression: bumps", "reg-gauss"),
]

STYLE = {"description_width": "initial"}
"""A description as wide as its text, never cut short."""

DATA_COLUMN = "210px"
"""The width of the data column's controls."""


def sized(width: str = "auto", **more: str) -> widgets.Layout:
    """A fresh Layout per widget: a shared one would hide every widget when one is hidden."""
    return widgets.Layout(width=width, **more)


def setting_fields() -> dict[str, widgets.ValueWidget]:
    """One control per field of :class:`~mapping_lib.playground.config.PlaygroundConfig`
    that a single widget shows, by field name."""
    fields: dict[str, widgets.ValueWidget] = {
        "dataset": widgets.Dropdown(
            options=DATASET_CHOICES, description="Data", layout=sized(DATA_COLUMN)
        ),
        "train_percent": widgets.IntSlider(
            min=10, max=90, step=10, description="Training %", layout=sized(DATA_COLUMN)
        ),
        "noise": widgets.IntSlider(
            min=0, max=50, step=5, description="Noise %", layout=sized(DATA_COLUMN)
        ),
        "batch_size": widgets.IntSlider(
            min=1, max=30, description="Batch size", layout=sized(DATA_COLUMN)
        ),
        "learning_rate": widgets.Dropdown(
            options=LEARNING_RATES, description="Learning rate", layout=sized("190px")
        ),
        "activation": widgets.Dropdown(
            options=ACTIVATIONS, description="Activation", layout=sized("170px")
        ),
        "regularization": widgets.Dropdown(
            options=[("None", "none"), ("L1", "l1"), ("L2", "l2")],
            description="Regularization",
            layout=sized("180px"),
        ),
        "regularization_rate": widgets.Dropdown(
            options=REGULARIZATION_RATES, description="Rate", layout=sized("120px")
        ),
        "show_test": widgets.Checkbox(description="Show test data", indent=False),
        "discretize": widgets.Checkbox(description="Discretize output", indent=False),
    }
    for control in fields.values():
        control.style = STYLE
    return fields


def digit_pickers() -> list[widgets.Dropdown]:
    """The two digits of the real-data set: the orange class, then the blue one."""
    pickers = [
        widgets.Dropdown(options=list(range(10)), description=label, layout=sized(DATA_COLUMN))
        for label in ("Digit (orange)", "Digit (blue)")
    ]
    for picker in pickers:
        picker.style = STYLE
    return pickers


def feature_toggles() -> dict[str, widgets.ToggleButton]:
    """One toggle per input feature, by feature name."""
    return {
        name: widgets.ToggleButton(description=name, layout=sized("80px")) for name in FEATURE_NAMES
    }


def neuron_buttons(
    hidden: tuple[int, ...], change: Callable[[int, int], None]
) -> list[widgets.Widget]:
    """One +/- pair per hidden layer, placed above that layer's column of the network picture.

    A click calls ``change(layer, +1)`` or ``change(layer, -1)``; a button is disabled where
    the layer already has ``MAX_NEURONS`` neurons (+) or one (-).
    """
    offset = render.LEFT + render.COLUMN_PITCH + render.NODE // 2 - 30
    boxes: list[widgets.Widget] = [widgets.Box(layout=widgets.Layout(width=f"{offset}px"))]
    for layer, units in enumerate(hidden):
        plus = widgets.Button(description="+", layout=sized("30px", padding="0"))
        minus = widgets.Button(description="−", layout=sized("30px", padding="0"))
        plus.disabled, minus.disabled = units >= MAX_NEURONS, units <= 1
        plus.on_click(lambda _, i=layer: change(i, +1))
        minus.on_click(lambda _, i=layer: change(i, -1))
        boxes.append(
            widgets.HBox([plus, minus], layout=widgets.Layout(width=f"{render.COLUMN_PITCH}px"))
        )
    return boxes


def dropdown_values(dropdown: widgets.Dropdown) -> list[object]:
    """The values a dropdown offers (the second item of each (label, value) option)."""
    return [option[1] if isinstance(option, tuple) else option for option in dropdown.options]
