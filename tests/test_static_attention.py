"""The static attention-map explorer: its spec, its precomputed maps and its refusals."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from mapping_lib import transformer as tr
from mapping_lib.static.attention import attention_table, attention_view
from mapping_lib.widgets.attention import MEAN, attention_explorer, head_weights

EXAMPLES = ["1234", "907", "55"]


@pytest.fixture(scope="module")
def net() -> tr.Seq2Seq:
    keras.utils.set_random_seed(0)
    return tr.transformer(4, d_model=8, heads=2, layers=2)


def test_the_view_offers_every_example_layer_and_head(net: tr.Seq2Seq) -> None:
    spec = attention_view(net, EXAMPLES).to_dict()
    params = {param["name"]: param for param in spec["params"]}
    assert params["example"]["value"] == "1234"
    assert params["example"]["bind"]["options"] == EXAMPLES
    assert params["layer"]["bind"]["options"] == [0, 1]
    assert params["head"]["bind"]["options"] == [MEAN, "0", "1"]
    assert len(json.dumps(spec)) < 300_000


def test_the_precomputed_table_equals_the_compute_function(net: tr.Seq2Seq) -> None:
    maps = [tr.attention_maps(net, text) for text in EXAMPLES]
    table = attention_table(maps)
    keys = list(zip(table["example"], table["layer"], table["head"]))
    for m in maps:
        for layer in range(2):
            for head in (MEAN, 0, 1):
                picked = np.array([key == (m.source, layer, str(head)) for key in keys])
                expected = head_weights(m, layer, head)
                got = np.array(table["weight"])[picked].reshape(expected.shape)
                np.testing.assert_allclose(got, expected, atol=5e-4)
                assert np.array(table["input"])[picked][: len(m.source)].tolist() == [
                    f"{j + 1}: {d}" for j, d in enumerate(m.source)
                ]


def test_the_widget_draws_and_its_controls_match_the_model(net: tr.Seq2Seq) -> None:
    view = attention_explorer(net, "321")
    assert view.controls["head"].options == (MEAN, 0, 1)
    view.controls["head"].value = 1
    view.controls["digits"].value = "x1"  # refused by attention_maps: the view shows a message
    assert view.image.value


@pytest.mark.parametrize(
    ("examples", "message"),
    [([], "examples must be distinct"), (["12", "12"], "examples must be distinct"),
     (["12345"], "digits must have at most 4"), (["1a"], "digits must be a string")],
)  # fmt: skip
def test_bad_arguments_are_refused_by_name(net: tr.Seq2Seq, examples: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        attention_view(net, examples)


def test_head_weights_refuses_a_missing_layer_or_head(net: tr.Seq2Seq) -> None:
    maps = tr.attention_maps(net, "12")
    with pytest.raises(ValueError, match="layer must be"):
        head_weights(maps, 2, 0)
    with pytest.raises(ValueError, match="head must be"):
        head_weights(maps, 0, "1")
