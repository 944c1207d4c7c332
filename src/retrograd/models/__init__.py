"""Models: graphs of layers (``Model``), chains (``Sequential``), training, saving.

``graph`` runs the layers in topological order and back, ``sequential`` is the
chain, ``training`` the compile / fit / evaluate / predict loop, ``saving`` the
file format (API.md, "Model" and second part).
"""
from ..callbacks import Callback, History
from ..layers.node import Input
from .graph import Model
from .saving import load_model
from .sequential import Sequential

__all__ = ["Input", "Model", "Sequential", "load_model", "Callback", "History"]
