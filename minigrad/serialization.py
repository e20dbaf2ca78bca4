"""save / load: Tensors and (nested) state dicts in the safetensors format.

Layer: top (beside nn and optim); imports ``minigrad.tensor`` and numpy only.
Never pickle: loading a file cannot run code. The format is written and read
here, so the ``safetensors`` package is not needed at run time, but files are
interchangeable with it (``safetensors.numpy.load_file`` / ``save_file``).

# Note [safetensors layout]
A file is: 8 bytes, the little-endian u64 length N of the header; N bytes of
UTF-8 JSON, ``{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets":
[begin, end]}, ..., "__metadata__": {str: str}}``, padded with spaces to a
multiple of 8; then the raw little-endian bytes of every tensor, offsets counted
from the start of that data block, which the tensors must cover exactly (no
gaps, no overlaps). minigrad writes its dtypes (F64, F32, F16, I64, I32, I16,
I8, U8, BOOL), largest item size first so that every tensor is aligned; it
reads those plus BF16 (as float32) and U16/U32/U64 (as int64), which minigrad
has no dtype for.

# Note [nested keys]
A nested object (dicts, lists, tuples; e.g. ``{"model": model.state_dict(),
"optim": opt.state_dict(), "epoch": 3}``) is stored flat: each tensor under its
path joined with ".", e.g. ``"model.0.weight"`` or ``"optim.state.0.exp_avg"``;
a Tensor saved on its own is stored under ``"tensor"``. The structure itself,
with every non-tensor leaf (int, float, bool, None, str), dict keys that are
ints, and which sequences are tuples, goes into ``__metadata__`` as the JSON
string ``"minigrad.tree"``, so ``load`` rebuilds exactly what was saved. A file
without it (e.g. written by the safetensors package) loads as a flat dict of
Tensors.
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import Any

import numpy as np

from minigrad.errors import ArgumentError
from minigrad.tensor import Tensor

__all__ = ["SerializationError", "load", "save"]

MAX_HEADER_BYTES = 100_000_000  # the safetensors package's limit as well
_MAX_NDIM = 64  # numpy's limit
_MAX_DIM = np.iinfo(np.intp).max
# torch.save writes a zip archive; its legacy format (and any pickle of
# protocol >= 2) starts with the PROTO opcode and the protocol number 2..5.
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTO = 0x80
TREE_KEY = "minigrad.tree"
ROOT_TENSOR_KEY = "tensor"

_WRITE_CODES = {
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
    np.dtype(np.int64): "I64",
    np.dtype(np.bool_): "BOOL",
    np.dtype(np.float16): "F16",
    np.dtype(np.int32): "I32",
    np.dtype(np.int16): "I16",
    np.dtype(np.int8): "I8",
    np.dtype(np.uint8): "U8",
}
# code -> (stored little-endian dtype, dtype minigrad returns)
_READ_CODES: dict[str, tuple[str, Any]] = {
    "F64": ("<f8", np.float64),
    "F32": ("<f4", np.float32),
    "F16": ("<f2", np.float16),
    "BF16": ("<u2", np.float32),
    "I64": ("<i8", np.int64),
    "I32": ("<i4", np.int32),
    "I16": ("<i2", np.int16),
    "I8": ("i1", np.int8),
    "U64": ("<u8", np.int64),
    "U32": ("<u4", np.int64),
    "U16": ("<u2", np.int64),
    "U8": ("u1", np.uint8),
    "BOOL": ("u1", np.bool_),
}


class SerializationError(ValueError, RuntimeError):
    """A file is not a valid safetensors file, or its minigrad metadata is bad.
    Both a ValueError and a RuntimeError, like minigrad.errors.ArgumentError."""


PathLike = str | os.PathLike[str]


# -- save -----------------------------------------------------------------------


def _as_saveable(arr: np.ndarray, where: str) -> np.ndarray:
    """``arr`` in one of the written dtypes, converting only losslessly."""
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    d = arr.dtype
    if d in _WRITE_CODES:
        return arr
    if d.kind == "f" and d.itemsize < 4:
        return arr.astype(np.float32)
    if (d.kind == "i" and d.itemsize < 8) or (d.kind == "u" and d.itemsize < 8):
        return arr.astype(np.int64)
    raise TypeError(
        f"save: {where} has dtype {d}; minigrad saves its dtypes (float16/32/64, "
        "int8/16/32/64, uint8, bool)"
    )


def _where(path: tuple[Any, ...]) -> str:
    return f"entry {'.'.join(map(str, path))!r}" if path else "the object"


class _Encoder:
    """Walks the object, collecting tensors by flat key and building the tree."""

    def __init__(self) -> None:
        self.tensors: dict[str, np.ndarray] = {}

    def leaf(self, arr: np.ndarray, path: tuple[Any, ...], kind: str) -> Any:
        key = ".".join(map(str, path)) if path else ROOT_TENSOR_KEY
        if key == "__metadata__":
            raise ArgumentError(
                "save: the key '__metadata__' is reserved by the format"
            )
        if key in self.tensors:
            raise ArgumentError(
                f"save: two entries flatten to the same key {key!r}; rename one "
                "(nested keys are joined with '.')"
            )
        arr = _as_saveable(arr, _where(path))
        # NOTE: not np.ascontiguousarray, which turns a 0-d array into 1-d.
        self.tensors[key] = arr if arr.flags.c_contiguous else arr.copy(order="C")
        return {kind: key}

    def encode(self, obj: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(obj, Tensor):
            return self.leaf(obj.data, path, "t")
        if isinstance(obj, np.ndarray):
            return self.leaf(obj, path, "a")
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise TypeError(
                        f"save: dict keys must be str or int, got {k!r} "
                        f"in {_where(path)}"
                    )
                items.append([k, self.encode(v, (*path, k))])
            return {"d": items}
        if isinstance(obj, (list, tuple)):
            kind = "l" if isinstance(obj, list) else "u"
            return {kind: [self.encode(v, (*path, i)) for i, v in enumerate(obj)]}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return {"v": obj}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return {"v": obj.item()}
        hint = ""
        if hasattr(obj, "state_dict"):
            hint = "; save its state_dict() instead"
        raise TypeError(
            f"save: cannot save {_where(path)} of type {type(obj).__name__}{hint}"
        )


def save(obj: Any, path: PathLike, metadata: dict[str, str] | None = None) -> None:
    """Writes a Tensor, an array, or a (nested) dict / list of them and plain
    values to ``path`` in the safetensors format (see Note [nested keys]).

    Parameters
    ----------
    obj : Tensor, np.ndarray, or dict / list / tuple nesting Tensors, arrays,
        int, float, bool, None and str (dict keys str or int)
    path : file path
    metadata : optional extra str -> str entries for ``__metadata__``

    Raises
    ------
    TypeError : an unsupported type or dtype inside ``obj``
    ValueError : two entries with the same flat key
    """
    enc = _Encoder()
    tree = enc.encode(obj, ())
    meta = {"format": "np"}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("save: metadata must map str to str")
        if TREE_KEY in metadata:
            raise ArgumentError(f"save: metadata key {TREE_KEY!r} is reserved")
        meta.update(metadata)
    meta[TREE_KEY] = json.dumps(tree, separators=(",", ":"))
    _write(os.fspath(path), enc.tensors, meta)


def _write(path: str, tensors: dict[str, np.ndarray], meta: dict[str, str]) -> None:
    order = sorted(tensors, key=lambda k: (-tensors[k].dtype.itemsize, k))
    header: dict[str, Any] = {"__metadata__": meta}
    offset = 0
    for k in order:
        a = tensors[k]
        header[k] = {
            "dtype": _WRITE_CODES[a.dtype],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + a.nbytes],
        }
        offset += a.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for k in order:
            a = tensors[k]
            if a.dtype == np.bool_:
                a = a.view(np.uint8)
            elif not _LITTLE:  # the format is little-endian
                a = a.astype(a.dtype.newbyteorder("<"))
            f.write(a.reshape(-1).view(np.uint8).data)


_LITTLE = np.little_endian


# -- load -----------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            raise ArgumentError(f"duplicate key {k!r} in the header")
        d[k] = v
    return d


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, problem: str) -> SerializationError:
        return SerializationError(f"load: {self.path!r} is not a valid file: {problem}")

    def not_safetensors(self, head: bytes) -> None:
        # Called once the header length is known to be bad: a PyTorch pickle
        # gets a message saying what it is and how to convert it. (A valid
        # file may start with 0x80 too: a 128-byte header.)
        pickled = head[0] == _PICKLE_PROTO and 2 <= head[1] <= 5
        if head.startswith(_ZIP_MAGIC) or pickled:
            raise SerializationError(
                f"load: {self.path!r} looks like a PyTorch pickle (torch.save), "
                "not a safetensors file; minigrad never unpickles (it can run "
                "code). Convert it once with PyTorch: sd = torch.load(path, "
                "map_location='cpu'); mg.save({k: v.numpy() for k, v in "
                "sd.items()}, 'model.safetensors') (or "
                "safetensors.torch.save_file(sd, 'model.safetensors'))"
            )

    def header(self, f: Any, size: int) -> tuple[dict[str, Any], int]:
        if size < 8:
            raise self.fail(
                f"only {size} bytes, too short for the 8-byte header length"
            )
        head = f.read(8)
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES or 8 + n > size:
            self.not_safetensors(head)
        if n > MAX_HEADER_BYTES:
            raise self.fail(f"header length {n} exceeds the limit {MAX_HEADER_BYTES}")
        if 8 + n > size:
            raise self.fail(
                f"header length {n} runs past the end of the file ({size} bytes); "
                "the file may be truncated"
            )
        raw = f.read(n)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("the header is not UTF-8 text") from None
        if not text.startswith("{"):
            raise self.fail("the header is not a JSON object")
        try:
            header = json.loads(text, object_pairs_hook=_no_duplicates)
        except (ValueError, RecursionError) as e:
            raise self.fail(f"the header is not valid JSON ({e})") from None
        if not isinstance(header, dict):
            raise self.fail("the header is not a JSON object")
        return header, size - 8 - n

    def entries(
        self, header: dict[str, Any], data_len: int
    ) -> dict[str, tuple[str, tuple[int, ...], int, int]]:
        out = {}
        for name, info in header.items():
            if not isinstance(info, dict) or set(info) != {
                "dtype",
                "shape",
                "data_offsets",
            }:
                raise self.fail(
                    f"tensor {name!r} needs exactly dtype, shape and data_offsets"
                )
            code, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
            if not isinstance(code, str):
                raise self.fail(
                    f"tensor {name!r} has dtype {code!r:.80}, not a string like 'F32'"
                )
            if code not in _READ_CODES:
                raise self.fail(f"tensor {name!r} has unsupported dtype {code!r}")
            if (
                not isinstance(shape, list)
                or len(shape) > _MAX_NDIM
                or not all(_is_int(s) and 0 <= s <= _MAX_DIM for s in shape)
            ):
                raise self.fail(f"tensor {name!r} has an invalid shape {shape!r:.80}")
            if (
                not isinstance(offs, list)
                or len(offs) != 2
                or not all(_is_int(o) for o in offs)
                or not 0 <= offs[0] <= offs[1]
            ):
                raise self.fail(
                    f"tensor {name!r} has invalid data_offsets {offs!r:.80}"
                )
            itemsize = np.dtype(_READ_CODES[code][0]).itemsize
            nbytes = math.prod(shape) * itemsize
            if offs[1] - offs[0] != nbytes:
                raise self.fail(
                    f"tensor {name!r} of dtype {code} and shape {shape} needs "
                    f"{nbytes} bytes but data_offsets {offs} span {offs[1] - offs[0]}"
                )
            out[name] = (code, tuple(shape), offs[0], offs[1])
        self.check_coverage(out, data_len)
        return out

    def check_coverage(self, entries: dict[str, Any], data_len: int) -> None:
        pos = 0
        for name, (_, _, b, e) in sorted(entries.items(), key=lambda kv: kv[1][2:]):
            if b != pos:
                problem = "overlaps the previous one" if b < pos else "leaves a gap"
                raise self.fail(f"tensor {name!r} at data_offsets [{b}, {e}] {problem}")
            pos = e
        if pos != data_len:
            raise self.fail(
                f"the tensors cover {pos} bytes but the data block has {data_len}"
                + ("; the file may be truncated" if pos > data_len else "")
            )

    def array(self, data: bytes, name: str, entry: tuple[Any, ...]) -> np.ndarray:
        code, shape, b, e = entry
        stored, target = _READ_CODES[code]
        a = np.frombuffer(
            data, dtype=stored, count=(e - b) // np.dtype(stored).itemsize, offset=b
        )
        try:
            a = a.reshape(shape)
        except (ValueError, OverflowError, MemoryError):
            raise self.fail(f"tensor {name!r} has an invalid shape {shape}") from None
        if code == "BF16":
            return (a.astype(np.uint32) << 16).view(np.float32)
        if code == "BOOL":
            if a.size and a.max() > 1:
                raise self.fail(
                    f"tensor {name!r} of dtype BOOL holds a byte other than 0 or 1"
                )
            return a.astype(np.bool_)
        if code == "U64" and a.size and a.max() > np.iinfo(np.int64).max:
            raise self.fail(f"tensor {name!r} (U64) holds values too large for int64")
        return a.astype(target)  # a copy: own, aligned, writeable, native order

    def metadata(self, header: dict[str, Any]) -> dict[str, str]:
        meta = header.pop("__metadata__", None)
        if meta is None:
            return {}
        if not isinstance(meta, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
        ):
            raise self.fail("__metadata__ must map strings to strings")
        return meta


def load(path: PathLike) -> Any:
    """Reads a file written by :func:`save` (or by the safetensors package).

    Returns
    -------
    What was saved (see Note [nested keys]): a Tensor, an array, or the nested
    dict / list; a file without minigrad's metadata gives a flat dict of
    name -> Tensor.

    Raises
    ------
    SerializationError (a ValueError and a RuntimeError) : the file is
        truncated or corrupted (bad header length, bad JSON, wrongly typed
        dtype / shape / data_offsets, offsets out of range, overlapping or
        leaving gaps, unknown dtype, size mismatch, a tensor the metadata names
        twice), or is a PyTorch pickle (the message says how to convert it);
        the message names the file, the tensor and the problem. Every loaded
        tensor owns its memory: no two share a buffer.
    """
    p = os.fspath(path)
    r = _Reader(p)
    with open(p, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        header, data_len = r.header(f, size)
        meta = r.metadata(header)
        entries = r.entries(header, data_len)
        data = f.read(data_len)
    if len(data) != data_len:
        raise r.fail(f"expected {data_len} bytes of data, read {len(data)}")
    arrays = {name: r.array(data, name, e) for name, e in entries.items()}
    del data
    if TREE_KEY not in meta:
        return {name: Tensor._wrap(arrays[name]) for name in header}
    return _decode_tree(r, meta[TREE_KEY], arrays)


def _decode_tree(r: _Reader, text: str, arrays: dict[str, np.ndarray]) -> Any:
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise r.fail(f"metadata {TREE_KEY!r} is not valid JSON ({e})") from None
    used: set[str] = set()

    def dec(node: Any) -> Any:
        if not isinstance(node, dict) or len(node) != 1:
            raise r.fail(f"metadata {TREE_KEY!r} has a malformed node {node!r:.80}")
        ((kind, val),) = node.items()
        if kind in ("t", "a"):
            if not isinstance(val, str) or val not in arrays:
                raise r.fail(
                    f"metadata {TREE_KEY!r} refers to a missing tensor {val!r:.80}"
                )
            if val in used:  # two objects over one buffer: never aliased
                raise r.fail(
                    f"metadata {TREE_KEY!r} refers to tensor {val!r} more than once"
                )
            used.add(val)
            return Tensor._wrap(arrays[val]) if kind == "t" else arrays[val]
        if kind == "v":
            return val
        if kind in ("l", "u") and isinstance(val, list):
            items = [dec(v) for v in val]
            return items if kind == "l" else tuple(items)
        if kind == "d" and isinstance(val, list):
            out = {}
            for item in val:
                if (
                    not isinstance(item, list)
                    or len(item) != 2
                    or not (isinstance(item[0], str) or _is_int(item[0]))
                ):
                    raise r.fail(f"metadata {TREE_KEY!r} has a malformed dict entry")
                out[item[0]] = dec(item[1])
            return out
        raise r.fail(f"metadata {TREE_KEY!r} has an unknown node kind {kind!r}")

    try:
        obj = dec(tree)
    except RecursionError:
        raise r.fail(f"metadata {TREE_KEY!r} is nested too deeply") from None
    extra = set(arrays) - used
    if extra:
        raise r.fail(
            f"tensors {sorted(extra)[:5]} are not referenced by the metadata "
            f"{TREE_KEY!r}"
        )
    return obj
