"""mapping_lib.static: the shared pieces of every static view, and the book's renderer."""

from __future__ import annotations

import base64
import io
import json
from types import SimpleNamespace

import altair as alt
import numpy as np
import pytest
from docutils import nodes
from docutils.frontend import OptionParser
from docutils.parsers.rst import Parser
from docutils.utils import new_document
from PIL import Image

from mapping_lib.static import book, views
from mapping_lib.static.book import SCRIPTS, VegaLiteRenderer, view_html


def _chart() -> alt.Chart:
    frame = views.slider("frame", 0, 9, 1, 0, "frame")
    return alt.Chart(alt.sequence(0, 10, as_="i")).mark_point().encode(x="i:Q").add_params(frame)


def test_a_view_emits_only_the_vega_lite_mimetype_and_text() -> None:
    bundle = views.StaticView(_chart(), "ten points")._repr_mimebundle_()
    assert set(bundle) == {views.MIMETYPE, "text/plain"}
    spec = bundle[views.MIMETYPE]
    assert spec["$schema"].endswith("/v5.20.1.json")
    assert spec["description"] == "ten points"
    json.dumps(spec)  # valid JSON, nothing Python-only inside


def test_play_is_requested_in_usermeta_and_must_name_a_parameter() -> None:
    spec = views.StaticView(_chart(), "ten", play="frame", play_interval_ms=90).to_dict()
    assert spec["usermeta"][views.PLAY_KEY] == {"play": "frame", "interval_ms": 90}
    with pytest.raises(ValueError, match="play must name one of the chart's parameters"):
        views.StaticView(_chart(), "ten", play="epoch")
    with pytest.raises(ValueError, match="play_interval_ms must be a positive int"):
        views.StaticView(_chart(), "ten", play="frame", play_interval_ms=0)


def test_controls_refuse_values_they_could_not_show() -> None:
    with pytest.raises(ValueError, match="low < high"):
        views.slider("x", 1, 1, 0.1, 1, "x")
    with pytest.raises(ValueError, match=r"value must be a number in \[0.0, 1.0\]"):
        views.slider("x", 0, 1, 0.1, 2, "x")
    with pytest.raises(ValueError, match="value must be one of"):
        views.choice("f", ["a", "b"], "c", "f")
    with pytest.raises(ValueError, match="one label per option"):
        views.choice("f", ["a", "b"], "a", "f", labels=["A"])
    assert views.slider("n", 0, 9, 1, 3.0, "n").param.value == 3  # an integer slider stays int


def test_images_become_png_urls_with_sharp_pixels() -> None:
    url = views.gray_png_url(np.array([[0.0, 1.0], [0.5, 2.0]]), low=0.0, high=1.0, scale=3)
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",")[1])))
    pixels = np.asarray(image)
    assert pixels.shape == (6, 6) and pixels[0, 0] == 0 and pixels[0, 5] == 255
    assert pixels[4, 1] == 128 and pixels[5, 5] == 255  # 2.0 shows as the top of the range
    with pytest.raises(ValueError, match="uint8"):
        views.png_url(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="low must be below high"):
        views.gray_png_url(np.zeros((2, 2)), low=1, high=1)


def test_records_pairs_columns_and_refuses_ragged_ones() -> None:
    assert views.records({"a": np.array([1, 2]), "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    with pytest.raises(ValueError, match="equal lengths"):
        views.records({"a": [1, 2], "b": [1]})


class _Renderer:
    def __init__(self) -> None:
        self.js: dict[str, tuple[str, dict]] = {}

    def add_js_file(self, key: str, uri: str, kwargs: dict) -> None:
        self.js[key] = (uri, kwargs)


class _Data:
    def __init__(self, mime_type: str, content: object) -> None:
        self.mime_type, self.content = mime_type, content


def test_the_book_renderer_writes_the_spec_and_loads_vega_before_require_js() -> None:
    spec = views.StaticView(_chart(), "ten </script> points").to_dict()
    renderer = _Renderer()
    (node,) = VegaLiteRenderer.handle_mime(renderer, _Data(views.MIMETYPE, spec), False)
    html = node.astext()
    assert "</script> points" not in html  # the spec cannot close its own script tag
    marker = 'class="mapping-static-view-spec">'
    start = html.index(marker) + len(marker)
    embedded = html[start : html.rindex("</script>")].replace("<\\/", "</")
    assert json.loads(embedded) == spec
    priorities = {uri: kwargs["priority"] for uri, kwargs in renderer.js.values()}
    assert max(p for uri, p in priorities.items() if "vendor/vega" in uri) < 500  # require.js
    assert set(renderer.js) == {key for key, _path, _attrs in SCRIPTS}
    assert VegaLiteRenderer.handle_mime(renderer, _Data("text/html", "<p>"), False) is None
    assert VegaLiteRenderer.handle_mime(renderer, _Data(views.MIMETYPE, spec), True) is None
    assert view_html(spec).startswith('<div class="mapping-static-view"')


def test_round_ranges_have_short_steps_and_cover_the_range() -> None:
    assert views.round_range(-2.3456, 3.98765) == (-2.35, 4.0, 0.05)
    assert views.round_range(0.00123, 0.0456) == (0.001, 0.046, 0.0005)
    assert views.round_range(-150, 2000) == (-160.0, 2000.0, 20.0)
    with pytest.raises(ValueError, match="low must be below high"):
        views.round_range(1.0, 1.0)


def _page(*raw_html: str) -> nodes.document:
    document = new_document("page", OptionParser(components=(Parser,)).get_default_values())
    for text in raw_html:
        document += nodes.raw("", text, format="html")
    return document


def test_pages_without_widget_views_do_not_load_the_widget_manager() -> None:
    from myst_nb.sphinx_ import NbMetadataCollector

    env = SimpleNamespace(docname="chapter")
    app = SimpleNamespace(env=env)
    for key in ("ipywidgets_state", "ipywidgets_0", "mapping_static_vega"):
        NbMetadataCollector.add_js_file(env, "chapter", key, None, {})
    widget = '<script type="application/vnd.jupyter.widget-view+json">{}</script>'
    book.drop_unused_widget_scripts(app, _page(widget, "<p>text</p>"))
    assert len(NbMetadataCollector.get_js_files(env, "chapter")) == 3  # a widget is shown
    book.drop_unused_widget_scripts(app, _page("<p>only a static view</p>"))
    assert list(NbMetadataCollector.get_js_files(env, "chapter")) == ["mapping_static_vega"]
