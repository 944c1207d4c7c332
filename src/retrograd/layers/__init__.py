"""Layers (API.md, "Layers")."""
from .base import Layer
from .dense import Dense
from .activations import ElementwiseActivation, ReLU, LeakyReLU, Sigmoid

__all__ = ["Layer", "Dense", "ElementwiseActivation", "ReLU", "LeakyReLU", "Sigmoid"]
