"""The Mapping Playground: a TensorFlow-Playground-style explorer built on mapping_lib.

* :mod:`~mapping_lib.playground.config`: a setting and its shareable string;
* :mod:`~mapping_lib.playground.features`: the seven input features;
* :mod:`~mapping_lib.playground.datasets`: toy sets and the real-data (digits) plane;
* :mod:`~mapping_lib.playground.core`: network, training, heatmaps, backprop traces;
* :mod:`~mapping_lib.playground.render`: NumPy + PIL pictures, straight to PNG;
* :mod:`~mapping_lib.playground.training`: whole epochs of hand-derived SGD per compiled call;
* :mod:`~mapping_lib.playground.controls`: the widgets, built but not yet wired;
* :mod:`~mapping_lib.playground.view`: the ipywidgets UI, :class:`Playground`.
"""

from mapping_lib.playground.config import PlaygroundConfig
from mapping_lib.playground.core import BackpropTrace, Heatmaps, PlaygroundCore
from mapping_lib.playground.view import Playground

__all__ = ["BackpropTrace", "Heatmaps", "Playground", "PlaygroundConfig", "PlaygroundCore"]
