"""The static attention-map explorer in Chromium: the drop-downs select exactly the maps that
:func:`mapping_lib.transformer.attention_maps` computes."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from harness import PageLog
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib import transformer as tr
from mapping_lib.static.attention import attention_view
from mapping_lib.widgets.attention import MEAN, head_weights

EXAMPLES = ["1234", "907"]
FIELDS = {"example", "layer", "head", "t", "j", "weight", "label"}  # label: after the filter


@pytest.fixture(scope="module")
def net() -> tr.Seq2Seq:
    keras.utils.set_random_seed(1)
    return tr.transformer(4, d_model=8, heads=2, layers=2)


@pytest.fixture
def attention_page(page: Page, page_log: PageLog, tmp_path: Path, net: tr.Seq2Seq) -> Page:
    page_of_views(page, tmp_path, [attention_view(net, EXAMPLES)])
    yield page
    assert not page_log.problems(), page_log.problems()


@pytest.mark.parametrize(("example", "layer", "head"), [("1234", 0, MEAN), ("907", 1, "1")])
def test_the_controls_select_the_library_maps(
    attention_page: Page, net: tr.Seq2Seq, example: str, layer: int, head: str
) -> None:
    set_signal(attention_page, 0, "example", example)
    set_signal(attention_page, 0, "layer", layer)
    set_signal(attention_page, 0, "head", head)
    rows = dataset_rows(attention_page, 0, FIELDS)
    assert {(r["example"], r["layer"], r["head"]) for r in rows} == {(example, layer, head)}
    expected = head_weights(
        tr.attention_maps(net, example), layer, int(head) if head != MEAN else head
    )
    got = np.zeros(expected.shape)
    for row in rows:
        got[row["t"], row["j"]] = row["weight"]
        assert row["label"] == f"{row['weight']:.2f}"
    assert len(rows) == expected.size
    np.testing.assert_allclose(got, expected, atol=5e-4)
