"""What every static explorer shares: the output object, its controls and its pictures.

A static view is a Vega-Lite chart (built with Altair) that carries everything it needs: data
that Python computed (precomputed frames, tables, trajectories) and, where a closed form
exists, a Vega expression such as ``1 / (1 + exp(-z))``. Moving a control only selects
precomputed data or evaluates such an expression, so the view stays live in the HTML book
without a kernel, and in JupyterLab, whose built-in Vega renderer draws the same output.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Colormap, Normalize
from PIL import Image

from mapping_lib import _checks

MIMETYPE = "application/vnd.vegalite.v5+json"
"""The one output type a static view emits. JupyterLab 4 draws it itself; the book draws it
with the renderer in :mod:`mapping_lib.static.book`. No ``text/html`` beside it: JupyterLab
would prefer that, and Altair's HTML loads Vega from a CDN."""

IMAGE_COLORMAP = "gray_r"
"""Grey images (digits) as the widgets show them: ink dark on a light ground."""

PLAY_KEY = "mapping_lib"
"""Key in a spec's ``usermeta`` under which a view asks the book for a Play button."""


class StaticView:
    """A Vega-Lite chart shown as the book's static explorer output.

    Args:
        chart: the Altair chart, with its controls bound as parameters.
        description: one line for the plain-text output (and for screen readers).
        play: the name of an integer slider parameter that a Play button steps through,
            from its current value to its maximum; None for no Play button.
        play_interval_ms: time between two steps of the Play button.
    """

    def __init__(
        self,
        chart: alt.TopLevelMixin,
        description: str,
        *,
        play: str | None = None,
        play_interval_ms: int = 150,
    ) -> None:
        self.chart = chart
        self.description = str(description)
        self.play = play
        self.play_interval_ms = _checks.positive_int("play_interval_ms", play_interval_ms)
        if play is not None and play not in parameter_names(chart):
            raise ValueError(f"play must name one of the chart's parameters, got {play!r}")

    def to_dict(self) -> dict[str, Any]:
        """The Vega-Lite spec, with the Play request in ``usermeta``."""
        spec = self.chart.to_dict()
        spec.setdefault("description", self.description)
        if self.play is not None:
            meta = spec.setdefault("usermeta", {})
            meta[PLAY_KEY] = {"play": self.play, "interval_ms": self.play_interval_ms}
        return spec

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {MIMETYPE: self.to_dict(), "text/plain": f"<static view: {self.description}>"}

    def __repr__(self) -> str:
        return f"StaticView({self.description!r})"


def parameter_names(chart: alt.TopLevelMixin) -> list[str]:
    """The names of the top-level parameters (controls) of ``chart``."""
    params = chart.to_dict().get("params", [])
    return [param["name"] for param in params]


def slider(
    name: str, low: float, high: float, step: float, value: float, label: str
) -> alt.Parameter:
    """A parameter bound to a range slider from ``low`` to ``high``."""
    low, high = float(low), float(high)
    if not low < high:
        raise ValueError(f"slider {name!r} needs low < high, got {low:g} and {high:g}")
    step = _checks.positive_float("step", step)
    _checks.in_range("value", value, low, high, closed="[]")
    number: float = int(value) if float(value).is_integer() and float(step).is_integer() else value
    return alt.param(
        name=name,
        value=number,
        bind=alt.binding_range(min=low, max=high, step=step, name=label),
    )


def round_range(low: float, high: float, count: int = 200) -> tuple[float, float, float]:
    """A slider range around [low, high] with a round step (1, 2 or 5 times a power of ten)
    giving about ``count`` positions, ends rounded outwards to whole steps, so that the
    values a slider shows read as short decimals."""
    if not low < high:
        raise ValueError(f"low must be below high, got {low:g} and {high:g}")
    raw = (high - low) / _checks.positive_int("count", count)
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(factor * power for factor in (1, 2, 5, 10) if factor * power >= raw)
    digits = max(0, int(-np.floor(np.log10(step))))
    ends = (
        round(float(np.floor(low / step) * step), digits),
        round(float(np.ceil(high / step) * step), digits),
    )
    return ends[0], ends[1], round(float(step), digits)


def choice(
    name: str,
    options: Sequence[Any],
    value: Any,
    label: str,
    *,
    labels: Sequence[str] | None = None,
    radio: bool = False,
) -> alt.Parameter:
    """A parameter bound to a drop-down (or radio buttons) offering ``options``."""
    options = list(options)
    if not options:
        raise ValueError(f"choice {name!r} needs at least one option, got none")
    _checks.one_of("value", value, options)
    if labels is not None and len(labels) != len(options):
        raise ValueError(
            f"labels must give one label per option ({len(options)}), got {len(labels)}"
        )
    binding = alt.binding_radio if radio else alt.binding_select
    extra = {"labels": list(labels)} if labels is not None else {}
    return alt.param(name=name, value=value, bind=binding(options=options, name=label, **extra))


def text_box(name: str, value: str, label: str, *, placeholder: str = "") -> alt.Parameter:
    """A parameter bound to a text input."""
    return alt.param(
        name=name,
        value=str(value),
        bind=alt.binding(input="text", name=label, placeholder=placeholder),
    )


def png_url(image: Image.Image | np.ndarray) -> str:
    """``image`` (a PIL image or uint8 array) as a ``data:image/png`` URL."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ValueError(f"image must be a uint8 array, got dtype {image.dtype}")
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def gray_png_url(values: Any, *, low: float, high: float, scale: int = 1) -> str:
    """A 2-D array as a grey PNG URL: ``low`` black, ``high`` white, each value a square
    of ``scale`` pixels (the page scales images smoothly; enlarging here keeps pixels sharp)."""
    array = _checks.finite_array("values", values, ndim=2)
    if not low < high:
        raise ValueError(f"low must be below high, got {low:g} and {high:g}")
    scale = _checks.positive_int("scale", scale)
    grey = np.clip((array - low) / (high - low), 0.0, 1.0)  # the caller's chosen display range
    pixels = np.round(grey * 255).astype(np.uint8)
    return png_url(np.kron(pixels, np.ones((scale, scale), dtype=np.uint8)))


def colormap_png_url(values: Any, cmap: str | Colormap, *, low: float, high: float) -> str:
    """A 2-D array as a colour PNG URL, one pixel per value, the way ``imshow`` colours it.

    Args:
        values: the 2-D array; NaN shows in the colormap's "bad" colour.
        cmap: a Matplotlib colormap or its name.
        low: the value drawn in the colormap's first colour.
        high: the value drawn in its last colour; must be above ``low``.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"values must be a 2-D array, got shape {array.shape}")
    if not low < high:
        raise ValueError(f"low must be below high, got {low:g} and {high:g}")
    rgba = plt.get_cmap(cmap)(Normalize(low, high, clip=True)(array))
    return png_url(np.round(rgba[..., :3] * 255).astype(np.uint8))


def image_url(image: np.ndarray) -> str:
    """A grey image as the widget shows it: ink dark, over the image's own range (imshow's
    default; a flat image gets a unit range)."""
    low, high = float(image.min()), float(image.max())
    return colormap_png_url(image, IMAGE_COLORMAP, low=low, high=high if high > low else low + 1)


def records(columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Columns of equal length as a list of row dicts (Vega's inline data), as plain floats,
    ints and strings so that the spec is valid JSON."""
    names = list(columns)
    if not names:
        return []
    values = [np.asarray(columns[name]).tolist() for name in names]
    lengths = {len(column) for column in values}
    if len(lengths) != 1:
        raise ValueError(f"columns must have equal lengths, got {dict(zip(names, lengths))}")
    return [dict(zip(names, row)) for row in zip(*values)]
