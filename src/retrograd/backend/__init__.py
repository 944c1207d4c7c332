"""Kernel dispatch.  Layers call ``ops.<kernel>(...)``; ``ops`` forwards to
``numpy_ops`` or ``native_ops`` according to the backend in force, so no layer
ever branches on the backend.  Both modules expose the same names with the
same signatures."""
from .. import _config
from . import numpy_ops

if _config.native_available():
    from . import native_ops
else:
    native_ops = None


def module_for(backend):
    """The kernel module of a backend name."""
    return native_ops if backend == "native" else numpy_ops


class _Ops:
    """Attribute access resolves to the current backend's kernel of that name."""

    __slots__ = ()

    def __getattr__(self, name):
        return getattr(module_for(_config.get_backend()), name)


ops = _Ops()
