"""The HTML book's renderer for static views (a myst-nb mime renderer plugin).

myst-nb finds :class:`VegaLiteRenderer` through the ``myst_nb.mime_renderers`` entry point in
``pyproject.toml``. For every ``application/vnd.vegalite.v5+json`` output it writes the spec
into the page and asks for the scripts that draw it: the book's local copies of Vega,
Vega-Lite and vega-embed (so nothing comes from a CDN) and ``static-views.js``.

The Vega bundles get a priority below the widget scripts' (500): loaded after require.js they
would register as anonymous AMD modules and break the widgets on the same page.

As a Sphinx extension (``_config.yml``), the module also keeps the widget manager (3.6 MB) off
pages that show no widget: a chapter whose kernel-backed explorers are all left out of the
book (``remove-output``) still carries their saved state, for which myst-nb would load it.
"""

from __future__ import annotations

import html
import json
from typing import Any, ClassVar

from docutils import nodes

from mapping_lib.static.views import MIMETYPE

SCRIPTS = (
    ("mapping_static_vega", "vendor/vega/vega.min.js", {"priority": 200}),
    ("mapping_static_vega_lite", "vendor/vega/vega-lite.min.js", {"priority": 201}),
    ("mapping_static_vega_embed", "vendor/vega/vega-embed.min.js", {"priority": 202}),
    ("mapping_static_views", "static-views.js", {"priority": 600, "defer": "defer"}),
)
"""(key, path under _static, script attributes) of what a page with a static view loads."""

HTML_BUILDERS = ("html", "dirhtml", "singlehtml")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def view_html(spec: dict[str, Any]) -> str:
    """The page markup for one view: a place to draw and the spec as inert JSON."""
    text = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    label = html.escape(str(spec.get("description", "interactive figure")), quote=True)
    return (
        f'<div class="mapping-static-view" role="figure" aria-label="{label}">'
        '<div class="mapping-static-view-chart"></div>'
        f'<script type="application/json" class="mapping-static-view-spec">{text}</script>'
        "</div>"
    )


class VegaLiteRenderer:
    """Render static views in HTML builds; other builders fall back to the text output."""

    mime_priority_overrides: ClassVar[list[tuple[str, str, int]]] = [
        (builder, MIMETYPE, 5) for builder in HTML_BUILDERS
    ]

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list[nodes.Element] | None:
        if inline or data.mime_type != MIMETYPE:
            return None
        spec = data.content if isinstance(data.content, dict) else json.loads(data.content)
        for key, path, attributes in SCRIPTS:
            renderer.add_js_file(key, path, dict(attributes))
        return [nodes.raw("", view_html(spec), format="html", classes=["output"])]


def shows_widgets(doctree: nodes.document) -> bool:
    """Whether a rendered page holds at least one widget view."""
    return any(WIDGET_VIEW in node.astext() for node in doctree.findall(nodes.raw))


def drop_unused_widget_scripts(app: Any, doctree: nodes.document) -> None:
    """Sphinx ``doctree-read``: forget the widget scripts of a page that shows no widget."""
    from myst_nb.sphinx_ import NbMetadataCollector

    if shows_widgets(doctree):
        return
    scripts = NbMetadataCollector.get_js_files(app.env, app.env.docname)
    for key in [key for key in scripts if key.startswith("ipywidgets_")]:
        del scripts[key]


def setup(app: Any) -> dict[str, Any]:
    app.connect("doctree-read", drop_unused_widget_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
