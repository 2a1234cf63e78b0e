"""The Playground in the static book: runs that Python trained, replayed frame by frame.

For every setting a fresh :class:`~mapping_lib.playground.PlaygroundCore` trains, and at a few
evenly spaced epochs (epoch 0 included) Python records the whole Playground picture,
:func:`mapping_lib.playground.render.snapshot`, with the training and test losses. The page
only picks a recorded frame: a choice of setting, a frame slider with a Play button, and a
link that opens the same setting in TensorFlow Playground, where it trains live.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
from PIL import Image

from mapping_lib import _checks
from mapping_lib.playground import PlaygroundConfig, PlaygroundCore, render
from mapping_lib.playground.config import tensorflow_playground_url
from mapping_lib.static.views import StaticView, choice, png_url, records, slider

SHADES = 32
"""Colour levels a frame keeps of the snapshot's 250: the frame's PNG shrinks to about half,
at the price of faint contour steps in the smooth heatmaps."""

CAPTION_HEIGHT = 44  # room above the picture for the caption and the link
_SELECTED = "datum.setting == setting && datum.frame == epoch"


def frame_epochs(epochs: int, frames: int) -> list[int]:
    """``frames`` evenly spaced epochs from 0 to ``epochs``, both included.

    Args:
        epochs: the last epoch recorded.
        frames: how many epochs to record, at least 2 and at most ``epochs + 1``.
    """
    epochs = _checks.positive_int("epochs", epochs)
    frames = _checks.positive_int("frames", frames)
    if not 2 <= frames <= epochs + 1:
        raise ValueError(f"frames must be in [2, epochs + 1 = {epochs + 1}], got {frames}")
    return np.rint(np.linspace(0, epochs, frames)).astype(int).tolist()


def posterized(image: Image.Image, shades: int | None = SHADES) -> Image.Image:
    """A snapshot with its colour scale cut to ``shades`` levels; None keeps every level.

    Args:
        image: a palette picture made by :mod:`mapping_lib.playground.render`.
        shades: levels kept from orange through grey to blue, at least 2, or None.
    """
    if shades is None:
        return image
    shades = _checked_shades(shades)
    indices = np.asarray(image)
    scale = indices < render.SHADES  # the ink colours above the scale stay as they are
    step = (render.SHADES - 1) / (shades - 1)
    indices = np.where(scale, np.rint(np.rint(indices / step) * step), indices).astype(np.uint8)
    result = Image.fromarray(indices, "P")
    result.putpalette(render.PALETTE.tobytes())
    return result


def _checked_shades(shades: int) -> int:
    shades = _checks.positive_int("shades", shades)
    return int(_checks.in_range("shades", shades, 2, render.SHADES, closed="[]"))


def replay_rows(
    label: str, setting: str, epochs: int, frames: int, *, shades: int | None = SHADES
) -> list[dict]:
    """One row per recorded frame of ``setting``: epoch, losses, and the picture as a URL.

    Args:
        label: the setting's name in the view.
        setting: a Playground config string.
        epochs: the last epoch recorded.
        frames: how many evenly spaced epochs to record (see :func:`frame_epochs`).
        shades: colour levels kept per frame (see :func:`posterized`).
    """
    recorded = frame_epochs(epochs, frames)
    if shades is not None:
        _checked_shades(shades)  # before the training, not after
    core = PlaygroundCore(setting)
    columns: dict[str, list] = {key: [] for key in ("epoch", "train_loss", "test_loss", "url")}
    sizes = []
    for epoch in recorded:
        if epoch > core.epoch:  # later runs continue the same batch order: as one long run
            core.run(epoch - core.epoch)
        picture = posterized(render.snapshot(core), shades)
        sizes.append(picture.size)
        columns["epoch"].append(epoch)
        # JSON has no NaN: a diverged loss travels as null.
        for key in ("train_loss", "test_loss"):
            loss = getattr(core, key)
            columns[key].append(float(loss) if np.isfinite(loss) else None)
        columns["url"].append(png_url(picture))
    (width, height), *_ = sizes  # the picture's size depends only on the network
    return records(
        {
            "setting": [label] * len(sizes),
            "frame": range(len(sizes)),
            **columns,
            "left": [0] * len(sizes),
            "right": [width] * len(sizes),
            "top": [CAPTION_HEIGHT] * len(sizes),
            "bottom": [CAPTION_HEIGHT + height] * len(sizes),
        }
    )


def _link(label: str, setting: str) -> dict[str, str]:
    try:
        url = tensorflow_playground_url(setting)
    except ValueError:
        dataset = PlaygroundConfig.from_string(setting).dataset
        return {"setting": label, "link_text": f"TensorFlow Playground has no {dataset} data"}
    return {
        "setting": label,
        "link": url,
        "link_text": "open this setting in TensorFlow Playground",
    }


def _loss(field: str) -> str:
    return f"(isValid(datum.{field}) ? format(datum.{field}, '.3f') : 'diverged')"


def playground_replay(
    settings: Mapping[str, str],
    epochs: int | Mapping[str, int],
    frames: int = 9,
    *,
    shades: int | None = SHADES,
    play_interval_ms: int = 400,
) -> StaticView:
    """The static Playground: recorded runs of ``settings``, replayed frame by frame.

    Args:
        settings: label -> Playground config string, in the order the choice offers them.
        epochs: epochs each setting trains, one number for all or label -> number.
        frames: how many evenly spaced epochs to record per setting, epoch 0 included.
        shades: colour levels kept per frame (see :func:`posterized`); None keeps all.
        play_interval_ms: time between two frames when the Play button runs.
    """
    if not isinstance(settings, Mapping) or not settings:
        raise ValueError(f"settings must map labels to config strings, got {settings!r}")
    labels = [str(label) for label in settings]
    if isinstance(epochs, Mapping):
        if set(epochs) != set(settings):
            raise ValueError(f"epochs must give a number for each of {labels}, got {epochs!r}")
        counts = dict(epochs)
    else:
        counts = dict.fromkeys(settings, epochs)
    for label, setting in settings.items():  # refuse bad input before any training
        PlaygroundConfig.from_string(setting)
        frame_epochs(counts[label], frames)
    rows = [
        row
        for label, setting in settings.items()
        for row in replay_rows(str(label), setting, counts[label], frames, shades=shades)
    ]
    width = max(row["right"] for row in rows)
    height = max(row["bottom"] for row in rows)
    links = alt.LookupData(
        alt.Data(values=[_link(str(label), s) for label, s in settings.items()]),
        key="setting",
        fields=["link", "link_text"],
    )
    # Only the layer holds the frames (once); each of its layers picks the one selected row.
    selected = (
        alt.Chart()
        .transform_filter(_SELECTED)
        .transform_lookup(lookup="setting", from_=links)
        .transform_calculate(
            caption=f"'epoch ' + datum.epoch + ': training loss ' + {_loss('train_loss')}"
            f" + ', test loss ' + {_loss('test_loss')}"
        )
    )
    picture = selected.mark_image(aspect=False).encode(
        x=alt.X("left:Q", scale=None, axis=None),
        x2="right:Q",
        y=alt.Y("top:Q", scale=None, axis=None),
        y2="bottom:Q",
        url="url:N",
    )
    caption = selected.mark_text(align="left", baseline="top", fontSize=13).encode(
        x=alt.value(0), y=alt.value(2), text="caption:N"
    )
    link = selected.mark_text(align="left", baseline="top", fontSize=13).encode(
        x=alt.value(0),
        y=alt.value(22),
        text="link_text:N",
        href="link:N",
        color=alt.condition("isValid(datum.link)", alt.value("#0877bd"), alt.value("#666")),
    )
    chart = (
        alt.layer(picture, caption, link, data=alt.Data(values=rows))
        .add_params(
            choice("setting", labels, labels[0], "setting "),
            slider("epoch", 0, frames - 1, 1, 0, "frame "),
        )
        .properties(width=width, height=height, title="Playground replay: training, recorded")
        .configure_view(stroke=None)
    )
    return StaticView(
        chart,
        f"Playground replay of {len(labels)} settings, {frames} recorded frames each",
        play="epoch",
        play_interval_ms=play_interval_ms,
    )
