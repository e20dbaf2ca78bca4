"""load() against malformed safetensors headers: specific regressions found by
fuzzing, and a hypothesis fuzz test of random header mutations (load succeeds
with the right data, or raises SerializationError; never another exception,
never two tensors sharing memory)."""

from __future__ import annotations

import contextlib
import json
import pickle
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.serialization import SerializationError, load, save
from tests.helpers import examples

_CODES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1"}


def _file(path, header, data=b""):
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def _expect(path, match):
    with pytest.raises(SerializationError, match=match) as info:
        load(path)
    assert str(path) in str(info.value)


def test_serialization_error_is_a_value_and_runtime_error():
    assert issubclass(SerializationError, ValueError)
    assert issubclass(SerializationError, RuntimeError)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}, "'t'.*dtype"),
        ({"dtype": {"a": 1}, "shape": [1], "data_offsets": [0, 4]}, "'t'.*dtype"),
        ({"dtype": None, "shape": [1], "data_offsets": [0, 4]}, "'t'.*dtype"),
        ({"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}, "'t'.*shape"),
        ({"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}, "'t'.*shape"),
        ({"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}, "'t'.*shape"),
        ({"dtype": "F32", "shape": [1] * 70, "data_offsets": [0, 4]}, "'t'.*shape"),
        ({"dtype": "F32", "shape": [2**63, 0], "data_offsets": [0, 0]}, "'t'.*shape"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [0.0, 4]}, "'t'.*offsets"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}, "'t'.*offsets"),
        ({"dtype": "F32", "shape": [1], "data_offsets": "0,4"}, "'t'.*offsets"),
        ("F32", "'t'.*dtype, shape and data_offsets"),
    ],
)
def test_load_rejects_wrongly_typed_entries(tmp_path, entry, match):
    _expect(_file(tmp_path / "f", {"t": entry}, bytes(4)), match)


def test_load_never_aliases_two_tensors(tmp_path):
    # Two tree nodes naming one stored tensor would load as two Tensors over
    # one buffer (writing one would change the other): rejected.
    tree = '{"d": [["a", {"t": "x"}], ["b", {"t": "x"}]]}'
    header = {
        "__metadata__": {"minigrad.tree": tree},
        "x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
    }
    _expect(_file(tmp_path / "f", header, bytes(4)), "'x'.*more than once")
    # Two entries over one region are rejected too (overlap), and entries that
    # load own their memory.
    header = {
        "x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
        "y": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
    }
    _expect(_file(tmp_path / "g", header, bytes(4)), "overlaps")


def test_loaded_tensors_own_their_memory(tmp_path):
    path = tmp_path / "f"
    save({"a": mg.ones(3), "b": mg.zeros(2, 2), "c": mg.tensor([1, 2])}, path)
    out = load(path)
    arrays = [t.numpy() for t in out.values()]
    for i, a in enumerate(arrays):
        assert a.flags.writeable
        for b in arrays[i + 1 :]:
            assert not np.shares_memory(a, b)


def test_load_names_a_pytorch_pickle_and_how_to_convert(tmp_path):
    # torch.save writes a zip archive (b"PK..."); the legacy format and plain
    # pickles start with the pickle protocol byte b"\x80".
    zpath = tmp_path / "model.pt"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"w": [1.0, 2.0]}))
    ppath = tmp_path / "legacy.pt"
    ppath.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=2))
    for p in (zpath, ppath):
        with pytest.raises(SerializationError, match="PyTorch pickle") as info:
            load(p)
        msg = str(info.value)
        assert "torch.load" in msg
        assert "mg.save" in msg
        assert "exceeds the limit" not in msg


def test_load_real_torch_save_file(tmp_path):
    torch = pytest.importorskip("torch")
    for legacy in (False, True):
        p = tmp_path / f"m{legacy}.pt"
        torch.save({"w": torch.ones(2)}, p, _use_new_zipfile_serialization=not legacy)
        with pytest.raises(SerializationError, match="PyTorch pickle"):
            load(p)


# -- fuzzing -------------------------------------------------------------------------


def _base():
    rng = np.random.default_rng(0)
    arrays = {
        "w": rng.standard_normal((2, 3)).astype("<f8"),
        "b": rng.standard_normal(3).astype("<f4"),
        "n": rng.integers(-9, 9, (2, 2)).astype("<i8"),
        "c": rng.integers(0, 255, 5).astype("u1"),
        "e": np.zeros((0, 2), "<f4"),
    }
    header, parts, off = {}, [], 0
    for name, a in arrays.items():
        code = next(k for k, v in _CODES.items() if np.dtype(v) == a.dtype)
        header[name] = {
            "dtype": code,
            "shape": list(a.shape),
            "data_offsets": [off, off + a.nbytes],
        }
        parts.append(a.tobytes())
        off += a.nbytes
    return header, b"".join(parts)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**65), 2**65)
    | st.integers(-3, 80)
    | st.floats(allow_nan=False)
    | st.text(max_size=4)
    | st.sampled_from([*_CODES, "BOOL", "F16", "BF16", "U64"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def _mutated(draw):
    header, data = _base()
    header = json.loads(json.dumps(header))
    names = list(header)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(names))
        kind = draw(st.integers(0, 6))
        entry = header.get(name)
        if kind == 0 and isinstance(entry, dict):  # one field, any JSON value
            entry[draw(st.sampled_from(["dtype", "shape", "data_offsets"]))] = draw(
                _json
            )
        elif kind == 1 and isinstance(entry, dict):  # nudge one offset
            offs = entry.get("data_offsets")
            if isinstance(offs, list) and offs:
                i = draw(st.integers(0, len(offs) - 1))
                if isinstance(offs[i], int):
                    offs[i] += draw(st.integers(-16, 16))
        elif kind == 2 and isinstance(entry, dict):  # share another's region
            other = header.get(draw(st.sampled_from(names)))
            if isinstance(other, dict):
                entry["data_offsets"] = other.get("data_offsets")
        elif kind == 3 and isinstance(entry, dict):  # shape entry
            entry["shape"] = draw(st.lists(st.integers(-2, 12), max_size=4))
        elif kind == 4:  # whole entry replaced
            header[name] = draw(_json)
        elif kind == 5:  # a tree in the metadata, maybe naming a tensor twice
            refs = draw(st.lists(st.sampled_from(names), max_size=6))
            tree = {"l": [{"t": r} for r in refs]}
            header["__metadata__"] = {"minigrad.tree": json.dumps(tree)}
        else:  # data block cut or padded
            cut = draw(st.integers(-8, 8))
            data = data[:cut] if cut < 0 else data + bytes(cut)
    return header, data


def _reference(header, data):
    # What each entry holds, decoded independently of minigrad.
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[b:end], _CODES[e["dtype"]]).reshape(e["shape"])
    return out


def _tensors(obj):
    if isinstance(obj, mg.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _tensors(v)


@examples(
    100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=_mutated())
def test_fuzz_header_mutations(tmp_path, case):
    header, data = case
    path = _file(tmp_path / "fuzz.safetensors", header, data)
    try:
        out = load(path)
    except SerializationError as e:
        msg = str(e)
    else:
        msg = None
    if msg is not None:
        assert str(path) in msg
        return
    arrays = [t.numpy() for t in _tensors(out)]
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            assert not (a.nbytes and b.nbytes and np.shares_memory(a, b))
    if "__metadata__" not in header:
        ref = _reference(header, data)
        assert set(out) == set(ref)
        for name, a in ref.items():
            got = out[name].numpy()
            assert got.shape == a.shape
            np.testing.assert_array_equal(got, a)


@examples(60, deadline=None)
@given(
    pos=st.integers(0, 400),
    byte=st.integers(0, 255),
    cut=st.integers(0, 8),
)
def test_fuzz_raw_byte_flips(tmp_path_factory, pos, byte, cut):
    header, data = _base()
    path = _file(tmp_path_factory.mktemp("raw") / "f", header, data)
    raw = bytearray(path.read_bytes())
    raw[pos % len(raw)] = byte
    path.write_bytes(bytes(raw[: len(raw) - cut]))
    with contextlib.suppress(SerializationError):
        load(path)
