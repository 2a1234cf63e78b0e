"""``mapping_lib.widgets.Playground``: the explorer lives in :mod:`mapping_lib.playground`."""

from mapping_lib.playground import Playground, PlaygroundConfig, PlaygroundCore

__all__ = ["Playground", "PlaygroundConfig", "PlaygroundCore"]
