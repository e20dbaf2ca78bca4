"""The Tensor class: attributes, conversions, and in-place ops with their autograd
semantics (Note [In-place ops] in minigrad/tensor.py)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


def leaf(values, dtype=mg.float64):
    return mg.tensor(values, dtype=dtype, requires_grad=True)


# -- attributes and conversions ------------------------------------------------


def test_attributes():
    t = mg.tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3)
    assert t.ndim == 2
    assert t.dim() == 2
    assert t.numel() == 6
    assert t.size() == (2, 3)
    assert t.size(-1) == 3
    assert t.dtype == mg.float64
    assert t.device == "cpu"
    assert t.T.shape == (3, 2)
    assert t.mT.shape == (3, 2)
    assert len(t) == 2
    assert [r.tolist() for r in t] == [[0, 1, 2], [3, 4, 5]]
    assert t.is_contiguous()
    assert not t.T.is_contiguous()
    assert t.T.contiguous().is_contiguous()


def test_item_tolist_numpy_and_array_protocol():
    t = mg.tensor([[1.5]])
    assert t.item() == 1.5
    assert float(t) == 1.5
    assert int(mg.tensor(3)) == 3
    assert bool(mg.tensor([True]))
    assert not bool(mg.tensor(0.0))
    with pytest.raises(RuntimeError, match="item: a Tensor with 2 elements"):
        mg.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mg.tensor([1.0, 2.0]))
    u = mg.tensor([1.0, 2.0])
    assert np.shares_memory(u.numpy(), u.data)
    assert np.asarray(u) is u.data
    assert np.asarray(u, dtype=np.float64).dtype == np.float64
    assert u.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="len"):
        len(mg.tensor(1.0))
    assert [1, 2, 3][mg.tensor(1)] == 2  # __index__


def test_repr_shows_dtype_and_grad_state():
    assert repr(mg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "dtype=float64" in repr(mg.tensor([1.0], dtype=mg.float64))
    assert "requires_grad=True" in repr(mg.tensor([1.0], requires_grad=True))
    y = mg.tensor([1.0], requires_grad=True) * 2.0
    assert "grad_fn=<MulBackward>" in repr(y)


def test_tensor_is_hashable_by_identity():
    a, b = mg.tensor([1.0]), mg.tensor([1.0])
    assert len({a, b, a}) == 2


def test_clone_copies_and_passes_gradient():
    x = leaf([1.0, 2.0])
    c = x.clone()
    assert not np.shares_memory(c.data, x.data)
    assert c.grad_fn is not None
    (c * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


# -- in-place ops --------------------------------------------------------------


def test_inplace_ops_values_and_versions():
    t = mg.tensor([1.0, 2.0, 3.0])
    t.add_(1.0)
    t.sub_(mg.tensor([1.0, 1.0, 1.0]), alpha=2.0)
    t.mul_(2.0)
    t.div_(4.0)
    np.testing.assert_allclose(t.data, [0.0, 0.5, 1.0])
    t += 1.0
    t -= 0.5
    t *= 2.0
    t /= 2.0
    np.testing.assert_allclose(t.data, [0.5, 1.0, 1.5])
    t.clamp_(max=1.0)
    np.testing.assert_allclose(t.data, [0.5, 1.0, 1.0])
    t.copy_(mg.tensor([7.0]))
    np.testing.assert_allclose(t.data, [7.0, 7.0, 7.0])
    t.fill_(2.0)
    assert t.tolist() == [2.0, 2.0, 2.0]
    assert t.zero_() is t
    assert t.tolist() == [0.0, 0.0, 0.0]
    assert t._version[0] == 12


def test_inplace_keeps_memory_and_identity():
    t = mg.tensor([1.0, 2.0])
    data = t.data
    u = t
    t += 1.0
    assert u is t
    assert t.data is data


def test_inplace_on_leaf_requiring_grad_raises_under_grad_mode():
    w = leaf([1.0, 2.0])
    for op in (
        lambda: w.add_(1.0),
        lambda: w.mul_(2.0),
        lambda: w.zero_(),
        lambda: w.__iadd__(1.0),
        lambda: w.__setitem__(0, 3.0),
    ):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            op()
    assert w.tolist() == [1.0, 2.0]
    assert w._version[0] == 0


def test_inplace_on_leaf_under_no_grad_is_allowed():
    w = leaf([1.0, 2.0])
    with mg.no_grad():
        w.sub_(0.5)
        w[1] = 5.0
        w *= 2.0
    assert w.tolist() == [1.0, 10.0]
    assert w.is_leaf
    assert w.requires_grad
    assert w._version[0] == 3
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.data, [2.0, 20.0])


def test_inplace_on_non_leaf_records_the_op():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    y.add_(1.0)
    assert y.grad_fn.name() == "AddBackward"
    y.mul_(y)  # y <- (3x + 1)^2; the old y was saved and is snapshotted
    y.sum().backward()
    np.testing.assert_allclose(y.data, (3 * x.data + 1) ** 2)
    np.testing.assert_allclose(x.grad.data, 2 * (3 * x.data + 1) * 3)


def test_inplace_mul_by_tensor_gives_both_gradients():
    torch = pytest.importorskip("torch")
    xv, cv = np.array([0.5, -1.0, 2.0]), np.array([3.0, 0.25, -2.0])
    x, c = leaf(xv), leaf(cv)
    b = x * 1.0
    b.mul_(c)
    b.sum().backward()
    xt = torch.tensor(xv, requires_grad=True)
    ct = torch.tensor(cv, requires_grad=True)
    bt = xt * 1.0
    bt.mul_(ct)
    bt.sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy())
    np.testing.assert_allclose(c.grad.data, ct.grad.numpy())


def test_inplace_zero_and_copy_keep_the_graph_with_zero_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.zero_()
    assert y.requires_grad
    assert y.grad_fn is not None
    (y + x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])
    s = leaf([5.0])
    z = x * 2.0
    z.copy_(s * 3.0)
    z.sum().backward()
    np.testing.assert_allclose(s.grad.data, [6.0])


def test_inplace_on_int_tensor_refuses_float_result():
    t = mg.tensor([1, 2, 3])
    with pytest.raises(TypeError, match=r"add_: result type float32.*int64"):
        t += 1.5
    t += 2
    assert t.tolist() == [3, 4, 5]
    assert t.dtype == mg.int64


def test_inplace_float32_with_float64_operand_keeps_float32():
    x = leaf([1.0, 2.0], dtype=mg.float32)
    y = x * 1.0
    y.add_(mg.tensor([0.5, 0.5], dtype=mg.float64, requires_grad=True))
    assert y.dtype == mg.float32
    y.sum().backward()
    assert x.grad.dtype == mg.float32


def test_inplace_shape_mismatch_raises():
    t = mg.zeros(3)
    with pytest.raises(ValueError, match=r"add_: result of shape \(2, 3\).*\(3,\)"):
        t.add_(mg.zeros(2, 3))


def test_inplace_on_expanded_view_raises():
    e = mg.zeros(1, 3).expand(2, 3)
    with pytest.raises(RuntimeError, match="read-only"):
        e.add_(1.0)
    with pytest.raises(RuntimeError, match="read-only"):
        e[0] = 1.0


def test_views_share_memory_and_version_with_their_base():
    base = mg.zeros(2, 3)
    for v in (base[0], base.reshape(6), base.T, base.transpose(0, 1), base[:, 1:]):
        assert np.shares_memory(v.data, base.data)
        before = base._version[0]
        v.add_(1.0)
        assert base._version[0] == before + 1
    assert base.data.sum() == 3 + 6 + 6 + 6 + 4  # every write went through
    adv = base[[0, 1]]  # advanced indexing copies
    assert not np.shares_memory(adv.data, base.data)


def test_inplace_on_view_of_grad_tensor_raises_under_grad_mode():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2.0
    v = y[1:]
    with pytest.raises(RuntimeError, match="view"):
        v.mul_(2.0)
    with pytest.raises(RuntimeError, match="view"):
        v[0] = 1.0
    with pytest.raises(RuntimeError, match="view"):
        x[1:].add_(1.0)
    with mg.no_grad():
        v.mul_(2.0)  # allowed, and visible through y
    np.testing.assert_allclose(y.data, [2.0, 8.0, 12.0])
    plain = mg.zeros(3)
    plain[1:][0] = 4.0  # no grad involved: writes through like numpy
    assert plain.tolist() == [0.0, 4.0, 0.0]


def test_detach_shares_version_counter():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    d = y.detach()
    d.add_(1.0)  # modifies y's memory
    with pytest.raises(RuntimeError, match="ExpBackward"):
        y.sum().backward()


def test_detach_in_place():
    y = mg.tensor([1.0], requires_grad=True) * 2.0
    assert y.detach_() is y
    assert y.grad_fn is None
    assert not y.requires_grad


def test_comparisons_with_none_and_bad_shapes():
    x = mg.zeros(2, 3)
    assert (x == None) is False  # noqa: E711  (PyTorch: False, not an error)
    assert (x != None) is True  # noqa: E711
    with pytest.raises(ValueError, match=r"less: shapes \(2, 3\) and \(4,\)"):
        x < mg.zeros(4)  # noqa: B015
    assert (x == mg.zeros(3)).dtype == np.bool_


def test_method_forms_match_operators():
    x = mg.tensor([1.0, -2.0])
    assert x.add(1.0).tolist() == (x + 1.0).tolist()
    assert x.sub(1.0).tolist() == (x - 1.0).tolist()
    assert x.mul(3.0).tolist() == (x * 3.0).tolist()
    assert x.div(2.0).tolist() == (x / 2.0).tolist()
    assert x.neg().tolist() == (-x).tolist()
    assert x.square().tolist() == [1.0, 4.0]
    assert x.pow(2).tolist() == (x**2).tolist()
    assert (+x) is x
    assert abs(x).tolist() == [1.0, 2.0]
