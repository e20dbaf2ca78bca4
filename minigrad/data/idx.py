"""The IDX file format (MNIST and its relatives): a reader and a writer.
Layer: data; imports only numpy and the standard library.

An IDX file is a 4-byte magic number ``00 00 TT DD`` (TT the element type, DD
the number of dimensions), then DD big-endian uint32 sizes, then the elements
in C order, big-endian. MNIST ships each file gzip-compressed
(``train-images-idx3-ubyte.gz``) and many copies are unpacked; both are read.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.errors import ArgumentError, ShapeError

__all__ = ["read_idx", "write_idx"]

# IDX element type code -> big-endian numpy dtype.
_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


# Decompression happens in bounded steps: at most this many output bytes per
# zlib call, and this many compressed bytes read from the file at a time.
_CHUNK = 1 << 20
# Deflate cannot expand data more than ~1032:1 (a 258-byte match per 2 bits),
# so a header declaring more than this many bytes per compressed byte cannot be
# backed by the file: it is rejected before anything is decompressed.
_MAX_GZIP_RATIO = 1040


class _Gunzip:
    """A gzip stream read with bounded memory: ``read(n)`` inflates at most ``n``
    bytes, so a file that expands to far more than its header declares (a
    "gzip bomb") is caught after one byte past the declared size, not after
    inflating all of it. Concatenated members are one stream, as in gzip(1)."""

    def __init__(self, f: Any, path: Path) -> None:
        self.f, self.path = f, path
        self.d = zlib.decompressobj(31)  # 31: gzip wrapper, with its CRC check
        self.pending = b""

    def _corrupt(self, why: object) -> ArgumentError:
        return ArgumentError(f"read_idx: {self.path}: corrupted gzip data ({why})")

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            if self.d.eof:
                tail = self.d.unused_data or self.f.read(_CHUNK)
                if not tail:
                    break  # the last member ended cleanly
                if tail[:1] != _GZIP_MAGIC[:1] or tail[1:2] not in (b"", b"\x8b"):
                    raise self._corrupt(
                        f"{len(tail)}+ bytes after the end of the gzip stream "
                        "that are not another gzip member"
                    )
                self.d = zlib.decompressobj(31)
                self.pending = tail
            data = self.pending or self.f.read(_CHUNK)
            if not data:
                raise self._corrupt("the stream is truncated")
            try:
                out += self.d.decompress(data, min(n - len(out), _CHUNK))
            except zlib.error as e:
                raise self._corrupt(e) from None
            self.pending = self.d.unconsumed_tail
        return bytes(out)


def _read_exact(stream: Any, n: int) -> bytes:
    # A few header bytes. read(n) may return fewer only at the end of the data.
    b = stream.read(n)
    while len(b) < n and (more := stream.read(n - len(b))):
        b += more
    return b


def _read_into(stream: Any, buf: np.ndarray) -> int:
    # Fills the preallocated ``buf`` in bounded chunks (no second full-size
    # copy); returns the byte count read, short only if the data ended.
    view, got = buf.data.cast("B"), 0
    while got < len(view):
        b = stream.read(min(len(view) - got, _CHUNK))
        if not b:
            break
        view[got : got + len(b)] = b
        got += len(b)
    return got


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Reads an IDX file (raw or gzip-compressed) into a numpy array.

    The header's shape is checked against the file before the data is read:
    a raw file must be exactly header + data bytes long; a gzip file must be
    big enough to possibly hold the declared data, and is inflated in bounded
    steps that stop one byte past the declared size. Memory use is therefore
    the declared array plus a small constant, whatever the file holds.

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
        A wrong magic number, an unknown element type, a data size that does
        not match the header (a truncated or padded file, in raw form or
        after decompression), a declared size the file cannot hold, or
        corrupted gzip data (including bytes after the gzip stream that are not
        another gzip member).
    """
    path = Path(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        gz = f.read(2) == _GZIP_MAGIC
        f.seek(0)
        stream: Any = _Gunzip(f, path) if gz else f
        return _parse(stream, path, size, gz)


def _parse(stream: Any, path: Path, size: int, gz: bool) -> np.ndarray:
    head = _read_exact(stream, 4)
    if len(head) < 4:
        raise ArgumentError(f"read_idx: {path}: {len(head)} bytes is too short for IDX")
    if head[0] != 0 or head[1] != 0:
        raise ArgumentError(
            f"read_idx: {path}: bad magic number {head[:4].hex()} (an IDX file "
            "starts with two zero bytes)"
        )
    code, ndim = head[2], head[3]
    if code not in _TYPES:
        raise ArgumentError(
            f"read_idx: {path}: unknown element type 0x{code:02x} (expected one "
            f"of {', '.join(f'0x{c:02x}' for c in _TYPES)})"
        )
    if ndim == 0:
        raise ShapeError(f"read_idx: {path}: the header declares 0 dimensions")
    dims = _read_exact(stream, 4 * ndim)
    header = 4 + 4 * ndim
    if len(dims) < 4 * ndim:
        raise ShapeError(
            f"read_idx: {path}: truncated header ({4 + len(dims)} bytes, {header} "
            f"needed for {ndim} dimensions)"
        )
    shape = tuple(int(d) for d in np.frombuffer(dims, ">u4"))
    dtype = _TYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    what = f"shape {shape} of {dtype.name} needs {expected} data bytes"
    if not gz and size - header != expected:
        found = size - header
        kind = "truncated" if found < expected else "has trailing bytes"
        raise ShapeError(f"read_idx: {path}: file {kind}: {what}, found {found}")
    if gz and expected > _MAX_GZIP_RATIO * size:
        raise ShapeError(
            f"read_idx: {path}: file truncated: {what}, more than a {size}-byte "
            "gzip file can hold"
        )
    data = np.empty(expected, np.uint8)
    got = _read_into(stream, data)
    if got < expected:
        raise ShapeError(f"read_idx: {path}: file truncated: {what}, found {got}")
    if stream.read(1):
        raise ShapeError(
            f"read_idx: {path}: file has trailing bytes: {what}, found more"
            + (" after decompression" if gz else "")
        )
    arr = data.view(dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=not dtype.isnative)


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
