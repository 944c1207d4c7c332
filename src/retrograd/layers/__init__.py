"""Layers (API.md, "Layers")."""
from .base import Layer
from .dense import Dense
from .activations import (ElementwiseActivation, Sigmoid, Tanh, Softsign, HardSigmoid, HardTanh,
                          ReLU, LeakyReLU, PReLU, RReLU, ELU, SELU, NoisyReLU, GELU, Swish,
                          Softmax)

__all__ = ["Layer", "Dense", "ElementwiseActivation", "Sigmoid", "Tanh", "Softsign",
           "HardSigmoid", "HardTanh", "ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU",
           "NoisyReLU", "GELU", "Swish", "Softmax"]
