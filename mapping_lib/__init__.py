"""mapping_lib: the small library behind the book "Everything Is a Mapping".

One module per concept: ``activations``, ``layers``, ``losses``, ``optim``,
``train``, ``metrics``, ``data``, ``device``, ``gradcheck``, ``plot``, ``widgets``.
"""

import os

# TensorFlow's C++ start-up chatter (CPU feature notes, oneDNN notices) drowns
# the output a reader cares about; a user who wants it can still set the variable.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
