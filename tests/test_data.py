"""Datasets, DataLoader, random_split, the built-in datasets and the IDX reader."""

from __future__ import annotations

import gzip
import tracemalloc

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    datasets,
    default_collate,
    random_split,
    read_idx,
    write_idx,
)


def _ds(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(x, y)


class Squares(Dataset):
    """A plain map-style dataset (exercises the generic, per-sample path)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float32), i


# -- TensorDataset ------------------------------------------------------------------
def test_tensor_dataset_items_and_len():
    ds = _ds(5)
    assert len(ds) == 5
    x, y = ds[2]
    np.testing.assert_array_equal(x.data, [6, 7, 8])
    assert y.item() == 2
    assert y.shape == ()
    assert isinstance(y.data, np.ndarray)


def test_tensor_dataset_validation():
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ValueError, match=r"size mismatch.*\(4, 2\).*\(3,\)"):
        TensorDataset(mg.zeros(4, 2), mg.zeros(3))
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(mg.tensor(1.0))


# -- DataLoader --------------------------------------------------------------------
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_batch_shapes_and_len(drop_last):
    loader = DataLoader(_ds(10), batch_size=4, drop_last=drop_last)
    batches = list(loader)
    sizes = [b[0].shape[0] for b in batches]
    assert sizes == ([4, 4] if drop_last else [4, 4, 2])
    assert len(loader) == len(batches)
    assert all(b[0].shape[1:] == (3,) and b[1].ndim == 1 for b in batches)
    assert batches[0][1].dtype == np.int64
    assert batches[0][0].dtype == np.float32


def test_loader_in_order_without_shuffle():
    ys = np.concatenate([y.data for _, y in DataLoader(_ds(10), batch_size=3)])
    np.testing.assert_array_equal(ys, np.arange(10))


def test_shuffle_covers_every_sample_once_and_changes_each_epoch():
    loader = DataLoader(
        _ds(50), batch_size=8, shuffle=True, generator=np.random.default_rng(1)
    )
    e1 = np.concatenate([y.data for _, y in loader])
    e2 = np.concatenate([y.data for _, y in loader])
    np.testing.assert_array_equal(np.sort(e1), np.arange(50))
    np.testing.assert_array_equal(np.sort(e2), np.arange(50))
    assert not np.array_equal(e1, e2)


def test_shuffle_is_deterministic_under_manual_seed():
    def epochs():
        loader = DataLoader(_ds(30), batch_size=7, shuffle=True)
        return [np.concatenate([y.data for _, y in loader]) for _ in range(3)]

    mg.manual_seed(123)
    a = epochs()
    mg.manual_seed(123)
    b = epochs()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    mg.manual_seed(124)
    assert not np.array_equal(epochs()[0], a[0])


def test_explicit_generator_is_independent_of_the_global_seed():
    def order(seed):
        mg.manual_seed(seed)
        loader = DataLoader(
            _ds(20), 5, shuffle=True, generator=np.random.default_rng(7)
        )
        return np.concatenate([y.data for _, y in loader])

    np.testing.assert_array_equal(order(1), order(2))


def test_rows_stay_paired_when_shuffled():
    for x, y in DataLoader(_ds(20), batch_size=6, shuffle=True):
        np.testing.assert_array_equal(x.data[:, 0], 3 * y.data)


def test_batches_are_copies():
    ds = _ds(4)
    x, _ = next(iter(DataLoader(ds, batch_size=4)))
    x.data[:] = -1
    assert ds.tensors[0].data.min() == 0


def test_fast_path_equals_generic_collation():
    ds = _ds(13)
    sub = Subset(ds, [5, 3, 11, 0, 7, 2, 9])
    for d in (ds, sub):
        fast = list(DataLoader(d, 3, shuffle=True, generator=np.random.default_rng(3)))
        slow = list(
            DataLoader(
                d,
                3,
                shuffle=True,
                generator=np.random.default_rng(3),
                collate_fn=default_collate,
            )
        )
        assert len(fast) == len(slow)
        for (a, b), (c, e) in zip(fast, slow):
            np.testing.assert_array_equal(a.data, c.data)
            np.testing.assert_array_equal(b.data, e.data)


def test_generic_dataset_and_custom_collate():
    batches = list(DataLoader(Squares(5), batch_size=2))
    x, i = batches[0]
    np.testing.assert_array_equal(x.data, [[0, 0], [1, 1]])
    assert i.dtype == np.int64
    assert batches[-1][0].shape == (1, 2)
    counts = list(DataLoader(Squares(5), batch_size=2, collate_fn=len))
    assert counts == [2, 2, 1]


def test_default_collate_kinds():
    b = default_collate([{"a": 1.5, "b": "x"}, {"a": 2.5, "b": "y"}])
    assert b["a"].dtype == np.float32
    assert b["b"] == ["x", "y"]
    assert default_collate([True, False]).dtype == np.bool_
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="cannot collate samples of type object"):
        default_collate([object()])


def test_loader_validation():
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(_ds(), batch_size=0)
    with pytest.raises(
        TypeError, match=r"generator must be a numpy\.random\.Generator"
    ):
        DataLoader(_ds(), generator=3)
    with pytest.raises(TypeError, match="must define __len__"):
        DataLoader(object())


# -- random_split, Subset, ConcatDataset -------------------------------------------
def test_random_split_sizes_disjoint_and_complete():
    ds = _ds(10)
    parts = random_split(ds, [3, 7], generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == [3, 7]
    seen = np.concatenate([[p[i][1].item() for i in range(len(p))] for p in parts])
    np.testing.assert_array_equal(np.sort(seen), np.arange(10))


def test_random_split_fractions_deal_the_remainder_like_torch():
    parts = random_split(
        _ds(10), [0.33, 0.33, 0.34], generator=np.random.default_rng(0)
    )
    assert [len(p) for p in parts] == [4, 3, 3]  # floor gives 3, 3, 3; one left over


def test_random_split_deterministic_under_seed():
    mg.manual_seed(5)
    a = random_split(_ds(20), [0.5, 0.5])[0].indices
    mg.manual_seed(5)
    b = random_split(_ds(20), [0.5, 0.5])[0].indices
    np.testing.assert_array_equal(a, b)


def test_random_split_validation():
    with pytest.raises(ValueError, match="sum to the dataset's length 10"):
        random_split(_ds(10), [3, 3])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(_ds(10), [0.5, 0.6])
    with pytest.raises(ValueError, match="lengths is empty"):
        random_split(_ds(10), [])


def test_concat_dataset():
    cat = _ds(3) + _ds(2)
    assert isinstance(cat, ConcatDataset)
    assert len(cat) == 5
    assert cat[3][1].item() == 0
    assert cat[-1][1].item() == 1
    with pytest.raises(IndexError, match="out of range"):
        cat[5]


# -- built-in datasets -------------------------------------------------------------
@pytest.mark.parametrize(
    ("gate", "y"),
    [
        ("AND", [0, 0, 0, 1]),
        ("or", [0, 1, 1, 1]),
        ("NAND", [1, 1, 1, 0]),
        ("XOR", [0, 1, 1, 0]),
    ],
)
def test_logic_gates(gate, y):
    x, t = datasets.logic_gate(gate).tensors
    np.testing.assert_array_equal(x.data, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(t.data.ravel(), y)
    assert x.dtype == np.float32
    assert t.shape == (4, 1)
    assert t.dtype == np.float32


def test_logic_gate_unknown():
    with pytest.raises(ValueError, match="unknown gate 'XAND'"):
        datasets.logic_gate("XAND")


@pytest.mark.parametrize("maker", [datasets.make_moons, datasets.make_circles])
def test_binary_synthetic_sets(maker):
    ds = maker(101, generator=0)
    x, y = ds.tensors
    assert x.shape == (101, 2)
    assert x.dtype == np.float32
    assert y.shape == (101, 1)
    assert y.dtype == np.float32
    assert set(np.unique(y.data)) == {0.0, 1.0}
    assert int(y.data.sum()) == 51  # class 0 gets n // 2
    x2, y2 = maker(101, generator=0).tensors
    np.testing.assert_array_equal(x.data, x2.data)
    np.testing.assert_array_equal(y.data, y2.data)
    assert not np.array_equal(maker(101, generator=1).tensors[0].data, x.data)


def test_moons_shape_without_noise():
    x, y = datasets.make_moons(200, noise=0.0, generator=0).tensors
    upper = x.data[y.data[:, 0] == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    assert upper[:, 1].min() >= 0


def test_circles_radii_without_noise():
    x, y = datasets.make_circles(100, noise=0.0, factor=0.3, generator=0).tensors
    r = np.hypot(x.data[:, 0], x.data[:, 1])
    np.testing.assert_allclose(r[y.data[:, 0] == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y.data[:, 0] == 1], 0.3, atol=1e-6)
    with pytest.raises(ValueError, match="factor must be in"):
        datasets.make_circles(10, factor=1.5)


def test_spirals():
    x, y = datasets.make_spirals(301, n_classes=4, generator=0).tensors
    assert x.shape == (301, 2)
    assert y.shape == (301,)
    assert y.dtype == np.int64
    counts = np.bincount(y.data)
    assert counts.tolist() == [76, 75, 75, 75]
    assert np.abs(x.data).max() <= 1.0 + 1e-6
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        datasets.make_spirals(10, n_classes=1)


def test_synthetic_sets_use_the_global_generator():
    mg.manual_seed(9)
    a = datasets.make_moons(20).tensors[0].data
    mg.manual_seed(9)
    b = datasets.make_moons(20).tensors[0].data
    np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="generator must be"):
        datasets.make_moons(20, generator="seed")
    with pytest.raises(ValueError, match="n_samples must be an int"):
        datasets.make_moons(1)


def test_exam_scores_follow_the_documented_process():
    x, y = datasets.exam_scores(2000, generator=0).tensors
    assert x.shape == (2000, 2)
    assert y.shape == (2000, 1)
    assert x.data.min() >= 30
    assert x.data.max() <= 100
    total = x.data.sum(axis=1)
    passed = y.data[:, 0] == 1
    # far from the line s1 + s2 = 130 the labels are (almost) certain
    assert passed[total > 160].mean() > 0.99
    assert passed[total < 100].mean() < 0.01
    near = np.abs(total - 130) < 5
    assert 0.2 < passed[near].mean() < 0.8
    # the default is a fixed dataset
    np.testing.assert_array_equal(
        datasets.exam_scores().tensors[0].data, datasets.exam_scores().tensors[0].data
    )


def test_load_digits():
    pytest.importorskip("sklearn")
    x, y = datasets.load_digits().tensors
    assert x.shape == (1797, 64)
    assert x.dtype == np.float32
    assert y.shape == (1797,)
    assert y.dtype == np.int64
    assert x.data.min() == 0.0
    assert x.data.max() == 1.0
    assert set(np.unique(y.data)) == set(range(10))
    assert datasets.load_digits(flatten=False).tensors[0].shape == (1797, 8, 8)


def test_load_digits_without_sklearn_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    # Not installed: its data file is not found either, and nothing is cached.
    monkeypatch.setattr(datasets, "_digits_path", lambda: None)
    monkeypatch.setattr(datasets, "_digits_cache", None)
    with pytest.raises(ImportError, match=r"minigrad\[demo\]"):
        datasets.load_digits()


# -- IDX / MNIST ---------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
)
def test_idx_round_trip(tmp_path, gz, dtype):
    arr = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx" + (".gz" if gz else ""))
    write_idx(path, arr)
    out = read_idx(path)
    assert out.dtype == arr.dtype
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_idx_header_is_big_endian(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.array([1, 258], dtype=np.int16))
    assert path.read_bytes() == bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0, 1, 1, 2])


def _write_raw(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "bad magic number"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown element type 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x02", "truncated header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "file truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "trailing bytes"),
    ],
)
def test_idx_rejects_corrupted_files(tmp_path, data, match):
    with pytest.raises(ValueError, match=match):
        read_idx(_write_raw(tmp_path / "bad", data))


def test_idx_rejects_corrupted_gzip(tmp_path):
    good = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02\x01\x02")
    with pytest.raises(ValueError, match="corrupted gzip"):
        read_idx(_write_raw(tmp_path / "bad.gz", good[:-6]))


_IDX_U8_16 = b"\x00\x00\x08\x01\x00\x00\x00\x10"  # uint8, shape (16,)


def test_idx_gzip_bomb_is_rejected_without_inflating_it(tmp_path):
    # The header declares 16 bytes; the file inflates to 1 GiB (64 MiB of zeros
    # compresses to ~64 KiB; gzip members concatenate into one stream). The
    # reader must stop one chunk past the declared size, not inflate it all.
    zeros = gzip.compress(bytes(64 << 20), compresslevel=9)
    bomb = gzip.compress(_IDX_U8_16 + bytes(range(16))) + zeros * 16
    assert len(bomb) < 2 << 20
    path = _write_raw(tmp_path / "bomb.gz", bomb)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"trailing bytes.*after decompression"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_idx_gzip_members_concatenate(tmp_path):
    data = _IDX_U8_16 + bytes(range(16))
    path = _write_raw(
        tmp_path / "two.gz", gzip.compress(data[:10]) + gzip.compress(data[10:])
    )
    np.testing.assert_array_equal(read_idx(path), np.arange(16, dtype=np.uint8))


@pytest.mark.parametrize(
    ("tail", "match"),
    [
        (b"junk", "after the end of the gzip stream"),
        (b"\x1f\x8bjunk", "corrupted gzip"),
        (gzip.compress(b"x"), "trailing bytes"),
    ],
)
def test_idx_gzip_trailing_data_is_rejected(tmp_path, tail, match):
    good = gzip.compress(_IDX_U8_16 + bytes(16))
    with pytest.raises(ValueError, match=match):
        read_idx(_write_raw(tmp_path / "t.gz", good + tail))


@pytest.mark.parametrize("gz", [False, True])
def test_idx_declared_size_is_checked_before_reading(tmp_path, gz):
    # 2**31 * 2**31 * 4 = 2**64 wraps to 0 in int64: the header must not pass
    # for an empty array, nor make the reader allocate what it declares.
    data = b"\x00\x00\x08\x03" + np.array([2**31, 2**31, 4], ">u4").tobytes()
    if gz:
        data = gzip.compress(data)
    with pytest.raises(ValueError, match=rf"file truncated.* needs {2**64} data bytes"):
        read_idx(_write_raw(tmp_path / ("big.gz" if gz else "big"), data))


def test_idx_gzip_shorter_than_declared(tmp_path):
    path = _write_raw(tmp_path / "s.gz", gzip.compress(_IDX_U8_16 + bytes(15)))
    with pytest.raises(ValueError, match=r"file truncated.*found 15"):
        read_idx(path)


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_write_idx_validation(tmp_path):
    with pytest.raises(TypeError, match="cannot hold dtype int64"):
        write_idx(tmp_path / "x", np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x", np.array(3, np.uint8))


def _fake_mnist(root, n=5, rows=4, cols=3, gz=True, prefix="train"):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, rows, cols), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    ext = ".gz" if gz else ""
    write_idx(root / f"{prefix}-images-idx3-ubyte{ext}", images)
    write_idx(root / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist(tmp_path, gz):
    images, labels = _fake_mnist(tmp_path, gz=gz)
    _fake_mnist(tmp_path, n=2, gz=gz, prefix="t10k")
    x, y = datasets.load_mnist(tmp_path).tensors
    assert x.shape == (5, 12)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.data, images.reshape(5, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y.data, labels)
    assert y.dtype == np.int64
    assert datasets.load_mnist(tmp_path, flatten=False).tensors[0].shape == (5, 4, 3)
    assert len(datasets.load_mnist(tmp_path, train=False)) == 2


def test_load_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        datasets.load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 2, 2), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"3 images .* but 4 labels"):
        datasets.load_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((3, 1), np.uint8))
    with pytest.raises(ValueError, match="expected 1-D uint8 labels"):
        datasets.load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 4), np.uint8))
    with pytest.raises(ValueError, match="expected 3-D uint8 images"):
        datasets.load_mnist(tmp_path)
