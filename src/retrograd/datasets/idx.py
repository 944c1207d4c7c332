"""Reader of IDX files, the format of the MNIST distribution.

Layout (all integers big-endian):
    magic   4 bytes: 0x00 0x00 <type code> <number of dimensions>
    dims    one uint32 per dimension
    data    prod(dims) items of the type, row-major
Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
"""
import gzip
import os

import numpy as np

from .._validation import fail

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def load_idx(path):
    """The array stored in the IDX file at ``path``, raw or gzip-compressed
    (recognised by its content, not its name), in native byte order.

    Raises ValueError for a wrong magic number, an unknown type code, no
    dimensions, or a data size that differs from the product of the
    dimensions (a truncated file or trailing bytes).

    Example:
        >>> images = load_idx("train-images-idx3-ubyte.gz")
        >>> images.shape, images.dtype
        ((60000, 28, 28), dtype('uint8'))
    """
    owner = "load_idx"
    with open(os.fspath(path), "rb") as f:
        content = f.read()
    if content[:2] == _GZIP_MAGIC:
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{owner}: expected a complete gzip stream, got a damaged one "
                             f"({exc})") from None
    if len(content) < 4:
        fail(owner, "a 4-byte magic number 0x00 0x00 <type> <ndim>", f"{len(content)} bytes")
    if content[:2] != b"\x00\x00" or content[2] not in IDX_TYPES:
        fail(owner, "magic number 0x00 0x00 <type code in "
             f"{', '.join(f'0x{code:02X}' for code in IDX_TYPES)}> <ndim>", "0x" + content[:4].hex())
    ndim = content[3]
    if ndim == 0:
        fail(owner, "at least one dimension", "ndim 0")
    header = 4 + 4 * ndim
    if len(content) < header:
        fail(owner, f"{ndim} dimension sizes ({header} header bytes)",
             f"a truncated header of {len(content)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(content, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[content[2]])
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    got = len(content) - header
    if got != expected:
        what = "truncated data" if got < expected else "trailing bytes after the data"
        fail(owner, f"{expected} data bytes for shape {shape} of {dtype.newbyteorder('=')}",
             f"{got} bytes ({what})")
    data = np.frombuffer(content, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))
