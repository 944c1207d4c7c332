"""Layers (API.md, "Layers")."""
from .base import Layer
from .dense import Dense
from .activations import (ElementwiseActivation, Sigmoid, Tanh, Softsign, HardSigmoid, HardTanh,
                          ReLU, LeakyReLU, PReLU, RReLU, ELU, SELU, NoisyReLU, GELU, Swish,
                          Softmax)
from .conv import Conv2D, Convolution2D
from .pooling import (MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
                      GlobalMaxPooling2D)
from .reshape import Flatten
from .dropout import Dropout
from .merge import Add, Subtract, Multiply, Average, Concatenate
from .normalization import BatchNormalization, LayerNormalization

__all__ = ["Layer", "Dense", "ElementwiseActivation", "Sigmoid", "Tanh", "Softsign",
           "HardSigmoid", "HardTanh", "ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU",
           "NoisyReLU", "GELU", "Swish", "Softmax", "Conv2D", "Convolution2D", "MaxPooling2D",
           "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten",
           "Dropout", "Add", "Subtract", "Multiply", "Average", "Concatenate",
           "BatchNormalization", "LayerNormalization"]
