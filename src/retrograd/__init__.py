"""retrograd: deep learning for multicore CPUs.

Two backends give the same numbers: "numpy", the readable reference, and
"native", C99 + OpenMP kernels.  See API.md for the contract.
"""
__version__ = "0.1.0"

from ._config import (native_available, set_backend, get_backend, use_backend,
                      set_num_threads, get_num_threads, show_config)
from . import (callbacks, datasets, layers, losses, metrics, minimize, optimizers,
               regularizers, schedules, zoo)
from .models import Input, Model, Sequential, load_model
from ._gradcheck import gradcheck

__all__ = ["native_available", "set_backend", "get_backend", "use_backend", "set_num_threads",
           "get_num_threads", "show_config", "callbacks", "layers", "losses", "datasets",
           "metrics", "minimize", "optimizers", "regularizers", "schedules", "zoo", "Input", "Model", "Sequential",
           "load_model",
           "gradcheck", "__version__"]
