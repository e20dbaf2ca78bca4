"""Factories: logspace, randint_like, multinomial, bernoulli, normal,
tril/triu_indices, the arange/linspace length rules, numpy memory sharing.
Values vs PyTorch for the deterministic ones (skipped without torch), seeded
statistics for the random ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from tests.helpers import examples


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# -- deterministic: values vs torch ------------------------------------------


@examples(30)
@given(
    st.integers(-4, 4),
    st.integers(-4, 4),
    st.integers(-7, 7),
)
def test_tri_indices_vs_torch(row, col, offset):
    torch = pytest.importorskip("torch")
    row, col = abs(row), abs(col)
    for ours, theirs in (
        (mg.tril_indices, torch.tril_indices),
        (mg.triu_indices, torch.triu_indices),
    ):
        got = ours(row, col, offset)
        exp = theirs(row, col, offset)
        assert got.dtype == np.int64
        assert got.shape == tuple(exp.shape)
        np.testing.assert_array_equal(got.numpy(), exp.numpy())


def test_tri_indices_dtype_and_errors():
    assert mg.tril_indices(3, 3, dtype=np.int32).dtype == np.int32
    with pytest.raises(ArgumentError, match="tril_indices"):
        mg.tril_indices(-1, 3)
    with pytest.raises(DTypeError, match="triu_indices"):
        mg.triu_indices(3, 3, dtype=mg.float32)


@pytest.mark.parametrize(
    "args",
    [(0, 2, 5), (-1, 1, 7, 2.0), (2, -2, 4), (0, 3, 1), (0, 3, 0), (1.5, 2.5, 3, 3.0)],
)
def test_logspace_vs_torch(torch, args):
    start, end, steps, *base = args
    got = mg.logspace(start, end, steps, *base)
    exp = torch.logspace(start, end, steps, *base)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), exp.numpy(), rtol=1e-6)
    got64 = mg.logspace(start, end, steps, *base, dtype=mg.float64)
    exp64 = torch.logspace(start, end, steps, *base, dtype=torch.float64)
    assert got64.dtype == np.float64
    np.testing.assert_allclose(got64.numpy(), exp64.numpy(), rtol=1e-12)


def test_logspace_errors_and_grad():
    with pytest.raises(ArgumentError, match="logspace"):
        mg.logspace(0, 1, -1)
    assert mg.logspace(0, 1, 3, requires_grad=True).requires_grad


@pytest.mark.parametrize(
    "args",
    [
        (0, 1, 0.1),
        (1, 2.5, 0.5),
        (0, 1, 0.3),
        (2.0, -1.0, -0.25),
        (5, 0, -1),
        (0.0, 0.9, 0.3),
        (-1, 1, 0.2),
        (10,),
        (0, 10, 3),
        (1e-3, 1.0, 1e-1),
    ],
)
def test_arange_length_vs_torch(torch, args):
    got = mg.arange(*args)
    exp = torch.arange(*args)
    assert got.shape == tuple(exp.shape)
    assert str(got.dtype) == str(exp.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy(), exp.numpy(), rtol=1e-6, atol=1e-7)


def test_arange_known_lengths():
    assert mg.arange(0, 1, 0.1).shape == (10,)
    assert mg.arange(1, 2.5, 0.5).shape == (3,)
    assert mg.arange(2, -1, -0.5).shape == (6,)
    with pytest.raises(ArgumentError):
        mg.arange(0, 1, -0.1)


@pytest.mark.parametrize("args", [(0, 1, 5), (-2, 3, 1), (3, -3, 7), (0, 1, 0)])
def test_linspace_vs_torch(torch, args):
    got, exp = mg.linspace(*args), torch.linspace(*args)
    assert got.shape == tuple(exp.shape)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), exp.numpy(), rtol=1e-6, atol=1e-7)


def test_numpy_and_from_numpy_share_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = mg.from_numpy(a)
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    x = mg.zeros(3)
    n = x.numpy()
    n[1] = 7.0
    assert x[1].item() == 7.0


# -- random: dtypes, errors, statistics ----------------------------------------


def test_randint_like_overloads():
    g = np.random.default_rng(0)
    x = mg.zeros(2000, dtype=mg.float64)
    r = mg.randint_like(x, 5, generator=g)
    assert r.dtype == np.float64
    assert r.shape == (2000,)
    assert set(np.unique(r.numpy())) == {0.0, 1.0, 2.0, 3.0, 4.0}
    r2 = mg.randint_like(mg.zeros(2000, dtype=mg.int64), 3, 6, generator=g)
    assert r2.dtype == np.int64
    assert set(np.unique(r2.numpy())) == {3, 4, 5}
    assert mg.randint_like(x, 0, 4, dtype=mg.int64).dtype == np.int64
    with pytest.raises(ArgumentError, match="randint_like"):
        mg.randint_like(x, 3, 3)


def test_randint_like_dtype_vs_torch(torch):
    for dt, tdt in ((mg.float32, torch.float32), (mg.int64, torch.int64)):
        got = mg.randint_like(mg.zeros(3, dtype=dt), 4)
        exp = torch.randint_like(torch.zeros(3, dtype=tdt), 4)
        assert str(got.dtype) == str(exp.dtype).replace("torch.", "")


def test_multinomial_frequencies_with_replacement():
    g = np.random.default_rng(1)
    p = mg.tensor([1.0, 2.0, 3.0, 0.0])
    s = mg.multinomial(p, 60000, replacement=True, generator=g)
    assert s.dtype == np.int64
    assert s.shape == (60000,)
    freq = np.bincount(s.numpy(), minlength=4) / 60000
    np.testing.assert_allclose(freq, [1 / 6, 2 / 6, 3 / 6, 0.0], atol=0.01)


def test_multinomial_without_replacement():
    g = np.random.default_rng(2)
    p = mg.tensor([[1.0, 1.0, 8.0, 0.0], [0.0, 5.0, 5.0, 5.0]])
    s = p.multinomial(3, generator=g)
    assert s.shape == (2, 3)
    assert s.dtype == np.int64
    firsts = np.array(
        [mg.multinomial(p[0], 1, generator=g).item() for _ in range(3000)]
    )
    # first draw follows the weights: category 2 has probability 0.8
    assert abs((firsts == 2).mean() - 0.8) < 0.03
    for _ in range(200):
        row = mg.multinomial(p, 3, generator=g).numpy()
        for r in row:
            assert len(set(r)) == 3
        assert 3 not in row[0]
        assert 0 not in row[1]


def test_multinomial_zero_weights_fill_last():
    s = mg.multinomial(mg.tensor([0.0, 1.0, 0.0]), 3).numpy()
    assert s[0] == 1
    assert sorted(s) == [0, 1, 2]


def test_multinomial_errors():
    with pytest.raises(ArgumentError, match="multinomial"):
        mg.multinomial(mg.tensor([1.0, 2.0]), 3)
    for bad in ([1.0, -1.0], [1.0, float("inf")], [float("nan"), 1.0]):
        with pytest.raises(ArgumentError, match="multinomial"):
            mg.multinomial(mg.tensor(bad), 1)
    with pytest.raises(ArgumentError, match="multinomial"):
        mg.multinomial(mg.tensor([[1.0, 1.0], [0.0, 0.0]]), 1, True)
    with pytest.raises(ShapeError, match="multinomial"):
        mg.multinomial(mg.ones(2, 2, 2), 1)
    with pytest.raises(DTypeError, match="multinomial"):
        mg.multinomial(mg.tensor([1, 2]), 1)


def test_bernoulli_keeps_dtype_and_mean():
    g = np.random.default_rng(3)
    p = mg.full((50000,), 0.3, dtype=mg.float64)
    b = mg.bernoulli(p, generator=g)
    assert b.dtype == np.float64
    assert set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert abs(b.numpy().mean() - 0.3) < 0.01
    b2 = mg.zeros(50000).bernoulli(0.8, generator=g)
    assert b2.dtype == np.float32
    assert abs(b2.numpy().mean() - 0.8) < 0.01
    per = mg.bernoulli(mg.tensor([0.0, 1.0] * 10))
    np.testing.assert_array_equal(per.numpy(), [0.0, 1.0] * 10)
    with pytest.raises(ArgumentError, match="bernoulli"):
        mg.bernoulli(mg.tensor([1.5]))
    with pytest.raises(DTypeError, match="bernoulli"):
        mg.bernoulli(mg.tensor([1, 0]))


def test_normal_overloads():
    g = np.random.default_rng(4)
    m = mg.tensor([[-5.0], [5.0]], dtype=mg.float64)
    s = mg.tensor([0.5, 2.0, 1.0], dtype=mg.float64)
    r = mg.normal(m, s, generator=g)
    assert r.shape == (2, 3)
    assert r.dtype == np.float64
    assert (r.numpy()[0] < 0).all()
    assert (r.numpy()[1] > 0).all()
    big_m = mg.full((2, 40000), 3.0, dtype=mg.float64)
    big_s = mg.full((40000,), 2.0, dtype=mg.float64)
    r = mg.normal(big_m, big_s, generator=g)
    assert r.shape == (2, 40000)
    assert r.dtype == np.float64
    assert abs(r.numpy().mean() - 3.0) < 0.05
    assert abs(r.numpy().std() - 2.0) < 0.05
    r = mg.normal(1.0, mg.full((40000,), 0.5), generator=g)
    assert r.dtype == np.float32
    assert abs(r.numpy().mean() - 1.0) < 0.02
    r = mg.normal(mg.full((40000,), -2.0), 3.0, generator=g)
    assert abs(r.numpy().std() - 3.0) < 0.1
    r = mg.normal(2.0, 0.5, size=(40000,), generator=g)
    assert r.dtype == np.float32
    assert abs(r.numpy().mean() - 2.0) < 0.02
    assert mg.normal(0.0, 1.0, (3,), dtype=mg.float64).dtype == np.float64
    with pytest.raises(ArgumentError, match="normal"):
        mg.normal(0.0, 1.0)
    with pytest.raises(ArgumentError, match="normal"):
        mg.normal(mg.zeros(2), -1.0)
    with pytest.raises(ShapeError, match="normal"):
        mg.normal(mg.zeros(2), mg.ones(3))


def test_manual_seed_reproducible():
    def draw():
        mg.manual_seed(123)
        return (
            mg.multinomial(mg.tensor([1.0, 2.0, 3.0]), 5, True).numpy(),
            mg.bernoulli(mg.full((10,), 0.5)).numpy(),
            mg.normal(0.0, 1.0, (5,)).numpy(),
            mg.randint_like(mg.zeros(5), 10).numpy(),
        )

    for a, b in zip(draw(), draw()):
        np.testing.assert_array_equal(a, b)
