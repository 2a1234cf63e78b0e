"""Static explorers: views that stay live in the HTML book, without a kernel.

Each explorer has a pure compute function in the library (tested over its parameter ranges)
and two thin views: the ipywidgets one in :mod:`mapping_lib.widgets`, which needs a kernel,
and a static one here, a Vega-Lite chart whose controls only select data that Python
computed or evaluate a closed form. :mod:`~mapping_lib.static.views` holds what they share
and :mod:`~mapping_lib.static.book` draws them in the HTML book.
"""
