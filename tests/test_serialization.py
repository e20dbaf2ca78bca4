"""save / load in the safetensors format: round trips (tensors, nested dicts,
every dtype, optimizer-style state), interop with the safetensors package, and
refusal of truncated or corrupted files."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from minigrad.serialization import SerializationError, load, save


@pytest.fixture
def path(tmp_path):
    return tmp_path / "weights.safetensors"


def _all_dtypes():
    rng = np.random.default_rng(0)
    return {
        "f32": mg.tensor(rng.standard_normal((2, 3)).astype(np.float32)),
        "f64": mg.tensor(rng.standard_normal(4)),
        "i64": mg.tensor(rng.integers(-(2**40), 2**40, (3, 1, 2))),
        "bool": mg.tensor(rng.random(5) > 0.5),
        "scalar": mg.tensor(np.float64(2.5)),
        "empty": mg.zeros(0, 3),
    }


def _assert_same(a, b):
    if isinstance(a, dict):  # an OrderedDict (state_dict) comes back as a dict
        assert isinstance(b, dict)
    else:
        assert type(a) is type(b)
    if isinstance(a, mg.Tensor):
        assert a.dtype == b.dtype
        assert a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


# -- round trips ---------------------------------------------------------------------


def test_save_load_single_tensor(path):
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    save(t, path)
    back = load(path)
    _assert_same(t, back)
    assert back.data.flags.writeable
    assert back.data.flags.owndata


def test_save_load_all_dtypes_flat_dict(path):
    sd = _all_dtypes()
    save(sd, str(path))
    _assert_same(sd, load(path))


def test_save_load_nested_dict_with_dotted_keys_and_plain_values(path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    obj = {
        "model": model.state_dict(),
        "optim": {
            "state": {0: {"step": 3, "exp_avg": mg.randn(4, 3)}, 1: {"step": 3}},
            "param_groups": [
                {
                    "lr": 1e-3,
                    "betas": (0.9, 0.999),
                    "eps": 1e-8,
                    "amsgrad": False,
                    "params": [0, 1, 2],
                    "name": None,
                }
            ],
        },
        "epoch": 7,
        "history": [0.5, float("nan"), float("inf")],
        "raw": np.arange(6).reshape(2, 3),
        "note": "trained on xor",
        "empty": {},
    }
    save(obj, path)
    back = load(path)
    _assert_same(obj, back)
    assert isinstance(back["optim"]["param_groups"][0]["betas"], tuple)
    assert list(back["optim"]["state"]) == [0, 1]  # int keys stay ints


def test_nested_keys_are_flattened_with_dots_in_the_file(path):
    st = pytest.importorskip("safetensors.numpy")
    save(
        {"model": {"0.weight": mg.ones(2)}, "opt": {"state": {0: {"m": mg.zeros(1)}}}},
        path,
    )
    assert set(st.load_file(str(path))) == {"model.0.weight", "opt.state.0.m"}


def test_module_state_dict_round_trip_through_file(path):
    mg.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
    a(mg.randn(8, 3))  # move the running stats
    save(a.state_dict(), path)
    b = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
    b.load_state_dict(load(path))
    a.eval(), b.eval()
    x = mg.randn(4, 3)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_save_keeps_narrow_dtypes(path):
    save({"h": np.array([1.5], np.float16), "i": np.array([-3], np.int32)}, path)
    back = load(path)
    assert back["h"].dtype == np.float16
    assert back["h"][0] == 1.5
    assert back["i"].dtype == np.int32
    assert back["i"][0] == -3
    save({"u": np.array([1], np.uint16)}, path)  # no uint16 in minigrad
    assert load(path)["u"].dtype == np.int64


def test_save_rejects_unsupported_objects(path):
    with pytest.raises(TypeError, match="state_dict"):
        save(nn.Linear(2, 2), path)
    with pytest.raises(TypeError, match="dtype complex128"):
        save({"c": np.ones(2, complex)}, path)
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        save({(1, 2): mg.ones(1)}, path)
    with pytest.raises(TypeError, match=r"entry 'a\.b'"):
        save({"a": {"b": object()}}, path)
    with pytest.raises(ValueError, match=r"same key 'a\.b'"):
        save({"a.b": mg.ones(1), "a": {"b": mg.ones(1)}}, path)
    with pytest.raises(ValueError, match="reserved"):
        save(mg.ones(1), path, metadata={"minigrad.tree": "x"})
    with pytest.raises(ValueError, match="reserved"):
        save({"__metadata__": mg.ones(1)}, path)


def test_save_accepts_big_endian_and_non_contiguous_arrays(path):
    big = np.arange(6, dtype=">f8").reshape(2, 3)
    save({"big": big, "strided": big.T, "sliced": mg.arange(10)[::3]}, path)
    back = load(path)
    np.testing.assert_array_equal(back["big"], big)
    np.testing.assert_array_equal(back["strided"], big.T)
    assert back["big"].dtype == np.float64
    assert back["sliced"].tolist() == [0, 3, 6, 9]


def test_file_layout_header_padding_alignment_and_metadata(path):
    save(
        {"b": mg.tensor([True]), "a": mg.ones(3, dtype=mg.float64), "c": mg.ones(2)},
        path,
        metadata={"author": "me"},
    )
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0
    header = json.loads(raw[8 : 8 + n])
    assert header["__metadata__"]["author"] == "me"
    begins = {k: v["data_offsets"][0] for k, v in header.items() if k != "__metadata__"}
    assert begins == {"a": 0, "c": 24, "b": 32}  # largest items first: aligned
    assert header["a"]["dtype"] == "F64"
    assert header["b"]["dtype"] == "BOOL"
    assert len(raw) == 8 + n + 24 + 8 + 1


# -- interop with the safetensors package --------------------------------------------


def test_file_written_by_minigrad_loads_with_safetensors(path):
    st = pytest.importorskip("safetensors.numpy")
    sd = _all_dtypes()
    save(sd, path)
    theirs = st.load_file(str(path))
    assert set(theirs) == set(sd)
    for k, t in sd.items():
        assert theirs[k].dtype == t.dtype
        assert theirs[k].shape == t.shape
        np.testing.assert_array_equal(theirs[k], t.numpy())


def test_file_written_by_safetensors_loads_with_minigrad(path):
    st = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(1)
    arrays = {
        "w": rng.standard_normal((3, 2)).astype(np.float32),
        "d": rng.standard_normal(5),
        "i": rng.integers(0, 9, 4),
        "m": np.array([True, False]),
        "h": np.array([0.5, -2.0], np.float16),
        "i32": np.array([-7, 7], np.int32),
        "u8": np.array([0, 255], np.uint8),
        "s": np.array(3.0, np.float32),
    }
    st.save_file(arrays, str(path), metadata={"format": "np"})
    back = load(path)
    assert set(back) == set(arrays)
    for k, a in arrays.items():
        assert isinstance(back[k], mg.Tensor)
        np.testing.assert_array_equal(back[k].numpy(), a)
    assert back["h"].dtype == np.float16
    assert back["i32"].dtype == np.int32
    assert back["u8"].dtype == np.uint8
    assert back["m"].dtype == np.bool_


def test_bf16_file_from_torch_loads_as_float32(path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    t = torch.tensor([1.0, -2.5, 3.140625], dtype=torch.bfloat16)
    st.save_file({"x": t}, str(path))
    np.testing.assert_array_equal(load(path)["x"].numpy(), t.float().numpy())


# -- corrupted files -----------------------------------------------------------------


def _valid_bytes(path):
    save({"a": mg.ones(2, 3), "b": mg.tensor([1, 2])}, path)
    return path.read_bytes()


def _header_file(path, header, data=b"", pad=True):
    raw = json.dumps(header).encode()
    if pad:
        raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def _expect_error(path, match):
    with pytest.raises(SerializationError, match=match) as info:
        load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_load_rejects_truncated_files(path):
    raw = _valid_bytes(path)
    for cut, match in [
        (0, "too short"),
        (5, "too short"),
        (20, "runs past the end"),
        (len(raw) - 3, "cover 40 bytes but the data block has 37.*truncated"),
    ]:
        path.write_bytes(raw[:cut])
        _expect_error(path, match)


def test_load_rejects_huge_header_length_without_allocating(path):
    path.write_bytes(struct.pack("<Q", 2**63) + b"{}")
    _expect_error(path, "exceeds the limit")
    path.write_bytes(struct.pack("<Q", 50_000_000) + b"{}")
    _expect_error(path, "runs past the end")


def test_load_rejects_bad_header_text(path):
    for body, match in [
        (b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "not UTF-8"),
        (b"[1, 2]  ", "not a JSON object"),
        (b'{"a": 1', "not valid JSON"),
        (
            b'{"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}, '
            b'"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}',
            "duplicate key",
        ),
        (b"{" * 100_000, "not valid JSON"),
    ]:
        body += b" " * (-len(body) % 8)
        path.write_bytes(struct.pack("<Q", len(body)) + body)
        _expect_error(path, match)


@pytest.mark.parametrize(
    ("entry", "data_len", "match"),
    [
        (
            {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]},
            4,
            "unsupported dtype 'F99'",
        ),
        (
            {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]},
            1,
            "unsupported dtype",
        ),
        ({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}, 4, "needs 8 bytes"),
        ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, 4, "invalid shape"),
        (
            {"dtype": "F32", "shape": [10**12, 10**12], "data_offsets": [0, 4]},
            4,
            "needs",
        ),
        (
            {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]},
            4,
            "invalid data_offsets",
        ),
        (
            {"dtype": "F32", "shape": [1], "data_offsets": [0]},
            4,
            "invalid data_offsets",
        ),
        (
            {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
            8,
            "cover 4 bytes but",
        ),
        ({"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}, 8, "leaves a gap"),
        (
            {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1},
            4,
            "exactly dtype",
        ),
        (
            {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]},
            1,
            "other than 0 or 1",
        ),
    ],
)
def test_load_rejects_bad_entries(path, entry, data_len, match):
    data = b"\x07" * data_len
    _header_file(path, {"t": entry}, data)
    _expect_error(path, match)


def test_load_rejects_overlapping_and_out_of_range_offsets(path):
    header = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
    }
    _header_file(path, header, b"\0" * 12)
    _expect_error(path, "overlaps")
    header = {"a": {"dtype": "F64", "shape": [4], "data_offsets": [0, 32]}}
    _header_file(path, header, b"\0" * 16)
    _expect_error(path, "cover 32 bytes but the data block has 16")


def test_load_rejects_bad_metadata(path):
    _header_file(path, {"__metadata__": {"k": 1}})
    _expect_error(path, "__metadata__ must map strings to strings")
    _header_file(path, {"__metadata__": {"minigrad.tree": "{"}})
    _expect_error(path, "minigrad.tree' is not valid JSON")
    _header_file(path, {"__metadata__": {"minigrad.tree": '{"t": "missing"}'}})
    _expect_error(path, "missing tensor")
    _header_file(path, {"__metadata__": {"minigrad.tree": '{"q": 1}'}})
    _expect_error(path, "unknown node kind")
    _header_file(path, {"__metadata__": {"minigrad.tree": '{"d": [[1.5, {"v": 1}]]}'}})
    _expect_error(path, "malformed dict entry")
    deep = '{"l": [' * 5000 + "]}" * 5000
    _header_file(path, {"__metadata__": {"minigrad.tree": deep}})
    _expect_error(path, "minigrad.tree")
    _header_file(
        path,
        {
            "__metadata__": {"minigrad.tree": '{"v": 1}'},
            "x": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
        },
        b"\0" * 4,
    )
    _expect_error(path, "not referenced")


def test_load_of_empty_safetensors_file_is_an_empty_dict(path):
    _header_file(path, {})
    assert load(path) == {}
