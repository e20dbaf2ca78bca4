"""Mixed advanced indexing as in PyTorch (ints are basic indices), for reading,
``t[idx] = v`` and the scatter-add backward.

Each convention is checked twice: against written-out expected values (runs
without PyTorch) and against PyTorch itself where it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from tests.semantics_helpers import _smooth

gradcheck, gradgradcheck = mg.autograd.gradcheck, mg.autograd.gradgradcheck


# -- mixed advanced indexing (ints are basic indices, as in PyTorch) ----------------

X4 = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)

# index (lists and bool lists stand for tensors): the expected result, written
# as the two steps PyTorch takes (ints first, then the rest of the index)
MIXED = {
    "0,:,[0,1]": ((0, slice(None), [0, 1]), np.stack([X4[0, :, 0], X4[0, :, 1]], 1)),
    ":,0,:,[1,2]": (
        (slice(None), 0, slice(None), [1, 2]),
        np.stack([X4[:, 0, :, 1], X4[:, 0, :, 2]], 2),
    ),
    "0,None,[1,2]": ((0, None, [1, 2]), X4[0][None][:, [1, 2]]),
    "0,...,[1,2]": ((0, Ellipsis, [1, 2]), np.stack([X4[0, ..., 1], X4[0, ..., 2]], 2)),
    ":,[0,1],:,0": ((slice(None), [0, 1], slice(None), 0), X4[:, :, :, 0][:, [0, 1]]),
    "0,:,mask": (
        (0, slice(None), [True, False, True, True]),
        X4[0][:, [0, 2, 3]],
    ),
    "None,0,:,[1,2]": ((None, 0, slice(None), [1, 2]), X4[None, 0][:, :, [1, 2]]),
    "1,[2,0],:,[3,3]": ((1, [2, 0], slice(None), [3, 3]), X4[1][[2, 0], :, [3, 3]]),
}


def _mixed_index(T, idx):
    """Lists become tensors (int or bool), numpy ints 0-d int tensors."""
    return tuple(
        T.tensor(i if isinstance(i, list) else int(i))
        if isinstance(i, (list, np.integer))
        else i
        for i in idx
    )


@pytest.mark.parametrize("name", sorted(MIXED))
def test_mixed_index_expected_values(name):
    idx, expected = MIXED[name]
    x = mg.tensor(X4, requires_grad=True)
    y = x[_mixed_index(mg, idx)]
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.numpy(), expected)
    # backward scatters each output element back to where it was read
    w = np.arange(1.0, y.numel() + 1).reshape(y.shape)
    y.backward(mg.tensor(w))
    ids = mg.tensor(np.arange(X4.size, dtype=np.float64).reshape(X4.shape))
    positions = ids[_mixed_index(mg, idx)].numpy().astype(np.int64)
    expected_grad = np.zeros(X4.size)
    np.add.at(expected_grad, positions.ravel(), w.ravel())
    np.testing.assert_array_equal(x.grad.numpy(), expected_grad.reshape(X4.shape))


def test_mixed_index_setitem_expected_values():
    x = mg.tensor(np.zeros((2, 3, 4)))
    x[0, :, [0, 1]] = mg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert x[0, :, 0].tolist() == [1.0, 3.0, 5.0]
    assert x[0, :, 1].tolist() == [2.0, 4.0, 6.0]
    assert x.numpy().sum() == 21.0


def test_mixed_index_setitem_backward():
    v = mg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    base = mg.tensor(np.ones((2, 3, 4)), requires_grad=True)
    x = base * 1.0
    x[0, :, [0, 1]] = v * 2.0
    w = np.arange(24.0).reshape(2, 3, 4)
    x.backward(mg.tensor(w))
    np.testing.assert_array_equal(v.grad.numpy(), 2.0 * w[0][:, [0, 1]])
    expected = w.copy()
    expected[0][:, [0, 1]] = 0.0
    np.testing.assert_array_equal(base.grad.numpy(), expected)


def _random_index(rng, shape):
    """A random index over ``shape`` mixing ints, 0-d int tensors (numpy ints
    here), slices, int lists, 1-d and 2-d bool masks, None and at most one
    Ellipsis (index items as plain Python / lists)."""
    items, dims = [], list(shape)
    ellipsis = rng.random() < 0.3
    while dims:
        n = dims[0]
        kinds = [
            "int",
            "int0d",
            "slice",
            "list",
            "mask",
            "mask2",
            "none",
            "bool",
            "stop",
        ]
        kind = rng.choice(kinds)
        if kind == "stop":
            break
        if kind == "none":
            items.append(None)
            continue
        if kind == "bool":  # a Python bool: a 0-d mask, covering no dim
            items.append(bool(rng.random() < 0.8))
            continue
        dims.pop(0)
        if kind == "mask2" and dims:
            m = rng.random((n, dims.pop(0))) < 0.5
            items.append(m.tolist())
        elif kind == "int0d":
            items.append(np.int64(rng.integers(-n, n)))
        elif kind == "int" or kind == "mask2":
            items.append(int(rng.integers(-n, n)))
        elif kind == "slice":
            start, stop = sorted(rng.integers(0, n + 1, 2))
            items.append(slice(int(start), int(stop), int(rng.integers(1, 3))))
        elif kind == "list":
            items.append([int(v) for v in rng.integers(-n, n, rng.integers(1, 4))])
        else:
            items.append([bool(v) for v in rng.random(n) < 0.5])
    if ellipsis:
        items.insert(int(rng.integers(0, len(items) + 1)), Ellipsis)
    return tuple(items)


def _torch_index(torch, idx):
    return _mixed_index(torch, idx)


@pytest.mark.parametrize("seed", range(40))
def test_mixed_index_matches_torch(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    for _ in range(10):
        idx = _random_index(rng, X4.shape)
        try:
            expected = torch.tensor(X4)[_torch_index(torch, idx)]
        except (IndexError, RuntimeError):
            # broadcasting of the index arrays fails in torch: minigrad refuses too
            with pytest.raises((IndexError, ValueError)):
                mg.tensor(X4)[_mixed_index(mg, idx)]
            continue
        x = mg.tensor(X4, requires_grad=True)
        y = x[_mixed_index(mg, idx)]
        assert y.shape == tuple(expected.shape), idx
        np.testing.assert_array_equal(y.numpy(), expected.numpy())
        # backward: scatter-add, repeated indices accumulate
        w = rng.standard_normal(y.shape)
        y.backward(mg.tensor(w))
        tx = torch.tensor(X4, requires_grad=True)
        tx[_torch_index(torch, idx)].backward(torch.tensor(w))
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
        # setitem of a value of the result's shape (where no position repeats,
        # since which repeated write lands is not specified by torch)
        ids = torch.arange(X4.size).reshape(X4.shape)[_torch_index(torch, idx)]
        if ids.unique().numel() == ids.numel():
            a, ta = mg.tensor(X4), torch.tensor(X4)
            a[_mixed_index(mg, idx)] = mg.tensor(-w)
            ta[_torch_index(torch, idx)] = torch.tensor(-w)
            np.testing.assert_array_equal(a.numpy(), ta.numpy())


def test_python_bool_index_with_ints_and_lists():
    x = mg.tensor(X4[0])  # (3, 4, 5)
    y = x[True, 0, [0, 1]]  # True is a 0-d mask (advanced), 0 a basic index
    assert y.shape == (2, 5)
    np.testing.assert_array_equal(y.numpy(), X4[0, 0, [0, 1]])


def test_ints_on_every_dim_with_a_bool_index_read_write_and_backward():
    x = mg.tensor(X4, requires_grad=True)
    y = x[0, 1, 2, [3], True]
    assert y.tolist() == [X4[0, 1, 2, 3]]  # as torch
    y.sum().backward()
    assert x.grad.numpy()[0, 1, 2, 3] == 1.0
    assert x.grad.numpy().sum() == 1.0
    z = mg.tensor(X4)
    z[1, 2, 3, 4, True] = -1.0  # written through, not into a copy
    assert z.numpy()[1, 2, 3, 4] == -1.0


def test_zero_dim_tensor_index_is_an_int():
    x = mg.tensor(X4)
    y = x[mg.tensor(1), :, [0, 1]]
    assert y.shape == (3, 2, 5)
    np.testing.assert_array_equal(y.numpy(), X4[1][:, [0, 1]])


def test_empty_ellipsis_does_not_separate_advanced_indices():
    x = mg.tensor(np.arange(60.0).reshape(5, 3, 4))
    y = x[:, [0, 1], ..., [0, 1]]
    assert y.shape == (5, 2)
    np.testing.assert_array_equal(
        y.numpy(), X4.reshape(-1)[:60].reshape(5, 3, 4)[:, [0, 1], [0, 1]]
    )


def test_mixed_indexing_passes_gradcheck():
    rng = np.random.default_rng(11)
    (x,) = _smooth(rng.standard_normal((2, 3, 4)))
    idx = (0, slice(None), [0, 1, 1])  # a repeated index accumulates
    assert gradcheck(lambda a: a[idx], [x])
    assert gradgradcheck(lambda a: a[idx] ** 2, [x])

    def write(a, v):
        out = a * 1.0
        out[1, :, [2, 0]] = v * 3.0  # (3, 2) as in torch; numpy's shape is (2, 3)
        return out

    assert gradcheck(write, _smooth(rng.standard_normal((2, 3, 4)), np.ones((3, 2))))
