"""The IDX file format (MNIST and its relatives): a reader and a writer.
Layer: data; imports only numpy and the standard library.

An IDX file is a 4-byte magic number ``00 00 TT DD`` (TT the element type, DD
the number of dimensions), then DD big-endian uint32 sizes, then the elements
in C order, big-endian. MNIST ships each file gzip-compressed
(``train-images-idx3-ubyte.gz``) and many copies are unpacked; both are read.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from minigrad.errors import ArgumentError, ShapeError

__all__ = ["read_idx", "write_idx"]

# IDX element type code -> big-endian numpy dtype.
_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ArgumentError(
                f"read_idx: {path}: corrupted gzip data ({e})"
            ) from None
    return raw


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Reads an IDX file (raw or gzip-compressed) into a numpy array.

    Parameters
    ----------
    path : str or path-like
        The file; gzip compression is detected from its content, not its name.

    Returns
    -------
    numpy.ndarray
        Native byte order, the dtype the file declares (uint8 for MNIST), shape
        as the file's header gives.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A wrong magic number, an unknown element type, or a data size that does
        not match the header (a truncated or padded file).
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ArgumentError(f"read_idx: {path}: {len(raw)} bytes is too short for IDX")
    if raw[0] != 0 or raw[1] != 0:
        raise ArgumentError(
            f"read_idx: {path}: bad magic number {raw[:4].hex()} (an IDX file "
            "starts with two zero bytes)"
        )
    code, ndim = raw[2], raw[3]
    if code not in _TYPES:
        raise ArgumentError(
            f"read_idx: {path}: unknown element type 0x{code:02x} (expected one "
            f"of {', '.join(f'0x{c:02x}' for c in _TYPES)})"
        )
    if ndim == 0:
        raise ShapeError(f"read_idx: {path}: the header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ShapeError(
            f"read_idx: {path}: truncated header ({len(raw)} bytes, {header} needed "
            f"for {ndim} dimensions)"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = _TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found != expected:
        what = "truncated" if found < expected else "has trailing bytes"
        raise ShapeError(
            f"read_idx: {path}: file {what}: shape {shape} of {dtype.name} needs "
            f"{expected} data bytes, found {found}"
        )
    arr = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Writes ``array`` as an IDX file, gzip-compressed if ``path`` ends in .gz.

    Parameters
    ----------
    path : str or path-like
    array : numpy.ndarray
        uint8, int8, int16, int32, float32 or float64, at least 1-D.

    Raises
    ------
    TypeError
        A dtype that IDX cannot hold.
    ValueError
        A 0-d array, or more than 255 dimensions.
    """
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(f"write_idx: IDX cannot hold dtype {arr.dtype}")
    if not 1 <= arr.ndim <= 255:
        raise ShapeError(f"write_idx: IDX needs 1 to 255 dimensions, got {arr.ndim}")
    head = bytes([0, 0, _CODES[native], arr.ndim])
    head += np.asarray(arr.shape, ">u4").tobytes()
    body = np.ascontiguousarray(arr, native.newbyteorder(">")).tobytes()
    data = head + body
    path = Path(path)
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
