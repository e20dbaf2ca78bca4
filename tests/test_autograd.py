"""The backward engine: graph recording, backward, accumulation, freeing, double
backward, autograd.grad, grad modes, hooks, custom Functions, version counters and
anomaly detection."""

from __future__ import annotations

import threading
import time
from typing import ClassVar

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import Function


def leaf(values, dtype=mg.float64):
    return mg.tensor(values, dtype=dtype, requires_grad=True)


# -- the graph -----------------------------------------------------------------


def test_graph_leaf_and_grad_fn_propagation():
    x = leaf([1.0, 2.0])
    c = mg.tensor([3.0, 4.0])
    y = x * c
    assert x.is_leaf
    assert x.requires_grad
    assert x.grad_fn is None
    assert c.is_leaf
    assert not c.requires_grad
    assert not y.is_leaf
    assert y.requires_grad
    assert y.grad_fn.name() == "MulBackward"
    z = c * 2.0
    assert z.is_leaf
    assert not z.requires_grad
    assert z.grad_fn is None


def test_graph_next_functions_follow_input_order():
    x, w = leaf([1.0]), leaf([2.0])
    y = x * 3.0
    z = y + w
    (first, i0), (second, i1) = z.grad_fn.next_functions
    assert first is y.grad_fn
    assert i0 == 0
    assert second is w  # a leaf stands for its accumulator
    assert i1 == 0


def test_backward_values_of_a_small_graph():
    x = leaf([1.0, -2.0, 3.0])
    w = leaf([0.5, 0.25, 2.0])
    loss = ((x * w + x) * x).sum()
    loss.backward()
    xv, wv = x.data, w.data
    np.testing.assert_allclose(x.grad.data, 2 * xv * wv + 2 * xv)
    np.testing.assert_allclose(w.grad.data, xv * xv)
    assert isinstance(x.grad, mg.Tensor)
    assert x.grad.dtype == x.dtype
    assert not x.grad.requires_grad


def test_backward_shared_subexpression_gets_every_path():
    x = leaf([3.0])
    y = x * x
    z = y + y * y  # dz/dx = 2x + 4x^3
    z.sum().backward()
    np.testing.assert_allclose(x.grad.data, [2 * 3.0 + 4 * 27.0])


def test_backward_deep_diamond_runs_each_node_once():
    x = leaf([1.5])
    y = x
    for _ in range(50):
        y = y * 0.5 + y * 0.5  # identity, but a diamond at every level
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0])


def test_backward_accumulates_across_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * 2 * x.data)


def test_backward_grad_dtype_follows_leaf_under_promotion():
    x32 = mg.tensor([1.0, 2.0], requires_grad=True)
    x64 = leaf([3.0, 4.0])
    (x32 * x64).sum().backward()
    assert x32.grad.dtype == mg.float32
    assert x64.grad.dtype == mg.float64
    np.testing.assert_allclose(x32.grad.data, [3.0, 4.0])


def test_backward_grad_buffer_is_owned_by_the_leaf():
    # Add returns the same upstream gradient for both inputs: in-place updates of
    # one leaf's .grad must not leak into the other.
    a, b = leaf([1.0]), leaf([2.0])
    (a + b).sum().backward()
    with mg.no_grad():
        a.grad.add_(10.0)
    assert b.grad.item() == 1.0


class _Fresh(mg.autograd.Function):
    """y = 2x (+ 2z); backward returns a new array, kept in ``kept`` if asked,
    and the same array for both inputs when there are two."""

    kept: ClassVar[list] = []
    keep = False

    @staticmethod
    def forward(ctx, x, z=None):
        ctx.two = z is not None
        return 2 * x.data + (0 if z is None else 2 * z.data)

    @staticmethod
    def backward(ctx, g):
        out = 2 * np.asarray(g.data)
        _Fresh.made_at = out.__array_interface__["data"][0]  # not a reference
        if _Fresh.keep:
            _Fresh.kept.append(out)
        return (out, out) if ctx.two else out


def test_fresh_leaf_gradient_is_taken_without_a_copy():
    # Note [Taking the gradient buffer]: an array only the engine can see
    # becomes .grad as it is. If this fails, the refcount constants in
    # engine.py no longer match the interpreter (gradients are then copied).
    x = leaf([1.0, 2.0, 3.0])
    _Fresh.apply(x).backward(mg.ones(3, dtype=mg.float64))
    assert x.grad.data.__array_interface__["data"][0] == _Fresh.made_at


def test_gradient_buffer_still_seen_elsewhere_is_copied(monkeypatch):
    monkeypatch.setattr(_Fresh, "keep", True)
    x = leaf([1.0, 2.0, 3.0])
    _Fresh.apply(x).backward(mg.ones(3, dtype=mg.float64))
    assert not np.shares_memory(x.grad.data, _Fresh.kept[-1])
    # One array for two leaves: each .grad gets its own buffer.
    monkeypatch.setattr(_Fresh, "keep", False)
    a, b = leaf([1.0]), leaf([2.0])
    _Fresh.apply(a, b).backward(mg.ones(1, dtype=mg.float64))
    assert not np.shares_memory(a.grad.data, b.grad.data)
    # A hook that keeps the gradient it saw.
    seen = []
    c = leaf([1.0, 2.0])
    c.register_hook(seen.append)
    _Fresh.apply(c).backward(mg.ones(2, dtype=mg.float64))
    with mg.no_grad():
        c.grad.add_(10.0)
    np.testing.assert_allclose(seen[0].data, [2.0, 2.0])


class _FreshT(mg.autograd.Function):
    """y = 2x; backward returns a new array seen through a transpose (as the
    softmax kernels return a result laid out as their transposed operand),
    or a slice of a larger one with ``part``; kept in ``kept`` if asked."""

    kept: ClassVar[list] = []
    keep = False
    part = False

    @staticmethod
    def forward(ctx, x):
        return 2 * x.data

    @staticmethod
    def backward(ctx, g):
        gd = np.asarray(g.data)
        rows = gd.shape[1] + (1 if _FreshT.part else 0)
        out = np.empty((rows, gd.shape[0]))
        out[: gd.shape[1]] = 2 * gd.T
        _FreshT.made_at = out.__array_interface__["data"][0]
        if _FreshT.keep:
            _FreshT.kept.append(out)
        return out[: gd.shape[1]].T


@pytest.mark.parametrize("seeded", [False, True])
def test_fresh_gradient_seen_through_views_is_taken_without_a_copy(seeded):
    # The leaf's gradient is a view of a view of a fresh array (the op's
    # transpose, then x.T's backward): nothing else holds that array, so it
    # becomes .grad as it is (a copy cost 1.5x a softmax backward).
    x = leaf(np.arange(6.0).reshape(2, 3))
    y = _FreshT.apply(x.T)
    if seeded:
        y.backward(mg.ones(3, 2, dtype=mg.float64))
    else:
        y.sum().backward()
    assert x.grad.data.__array_interface__["data"][0] == _FreshT.made_at
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))


@pytest.mark.parametrize("case", ["kept", "part"])
def test_gradient_view_of_a_shared_or_larger_array_is_copied(monkeypatch, case):
    monkeypatch.setattr(_FreshT, "keep", case == "kept")
    monkeypatch.setattr(_FreshT, "part", case == "part")
    x = leaf(np.arange(6.0).reshape(2, 3))
    _FreshT.apply(x.T).sum().backward()
    assert x.grad.data.__array_interface__["data"][0] != _FreshT.made_at
    assert x.grad.data.base is None
    assert x.grad.data.flags.c_contiguous
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))
    if case == "kept":
        with mg.no_grad():
            x.grad.add_(1.0)
        np.testing.assert_array_equal(_FreshT.kept[-1], 2.0)


@pytest.mark.parametrize("dims", [(1, 0), (2, 0, 1), (0, 2, 1)])
def test_sum_gradient_has_the_memory_order_of_its_input(dims):
    # Note [Sum's unrecorded backward]: the next kernel (a transposed
    # softmax's backward) reads it in its input's layout.
    x = leaf(np.arange(24.0).reshape((4, 6) if len(dims) == 2 else (2, 3, 4)))
    v = x.permute(*dims)
    seen = []
    v.register_hook(seen.append)
    v.sum().backward()
    g = seen[0].data
    assert g.shape == v.shape
    np.testing.assert_array_equal(g, np.ones(v.shape))
    order = np.argsort([-s for s in g.strides], kind="stable")
    np.testing.assert_array_equal(
        order, np.argsort([-s for s in v.data.strides], kind="stable")
    )
    x.grad = None
    x.permute(*dims).mean().backward()
    np.testing.assert_allclose(x.grad.data, np.full(x.shape, 1 / x.numel()))


def test_backward_twice_through_freed_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_retain_graph_allows_a_second_pass():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first)


def test_backward_non_scalar_needs_a_gradient():
    x = leaf(np.ones((2, 3)))
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        y.backward()
    y.backward(mg.ones(2, 3, dtype=mg.float64))
    np.testing.assert_allclose(x.grad.data, np.full((2, 3), 2.0))


def test_backward_gradient_of_wrong_shape_raises():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 3\)"):
        (x * 2.0).backward(mg.ones(3, dtype=mg.float64))


def test_backward_of_tensor_without_graph_raises():
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.sum().backward()


def test_backward_inputs_restricts_accumulation():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    np.testing.assert_allclose(w.grad.data, x.data)


def test_backward_without_recursion_on_a_million_op_chain():
    x = mg.tensor(0.5, requires_grad=True)
    y = x
    t0 = time.perf_counter()
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    elapsed = time.perf_counter() - t0
    assert x.grad.item() == 1.0
    assert y.item() == pytest.approx(1_000_000.5)
    assert elapsed < 60  # generous: only a runaway regression trips this


# -- create_graph: gradients of gradients --------------------------------------


def test_create_graph_hessian_vector_product_matches_analytic():
    # f(x) = sum(x^3 * w + exp(x)): H = diag(6 x w + exp(x)).
    rng = np.random.default_rng(0)
    xv, wv, vv = rng.standard_normal((3, 5))
    x, w = leaf(xv), mg.tensor(wv)
    f = (x**3 * w + x.exp()).sum()
    (g,) = mg.autograd.grad(f, x, create_graph=True)
    assert g.requires_grad
    assert g.grad_fn is not None
    np.testing.assert_allclose(g.data, 3 * xv**2 * wv + np.exp(xv))
    (hv,) = mg.autograd.grad((g * mg.tensor(vv)).sum(), x)
    np.testing.assert_allclose(hv.data, (6 * xv * wv + np.exp(xv)) * vv)


def test_create_graph_backward_records_grad():
    x = leaf([2.0])
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    np.testing.assert_allclose(g.data, [12.0])
    x.grad = None
    g.sum().backward()  # d/dx 3x^2 = 6x
    np.testing.assert_allclose(x.grad.data, [12.0])


def test_create_graph_false_gives_constant_grads():
    x = leaf([2.0])
    (g,) = mg.autograd.grad((x**3).sum(), x)
    assert not g.requires_grad
    assert g.grad_fn is None


# -- autograd.grad -------------------------------------------------------------


def test_grad_returns_without_touching_dot_grad():
    x = leaf([1.0, 2.0])
    (g,) = mg.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(g.data, [2.0, 4.0])
    assert x.grad is None


def test_grad_allow_unused():
    x, u = leaf([1.0]), leaf([2.0])
    y = (x * 3.0).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        mg.autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = mg.autograd.grad(y, [x, u], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.data, [3.0])


def test_grad_with_respect_to_a_non_leaf():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    y = (h * h).sum()
    gh, gx = mg.autograd.grad(y, [h, x])
    np.testing.assert_allclose(gh.data, 2 * h.data)
    np.testing.assert_allclose(gx.data, 18 * x.data)


def test_grad_several_outputs_and_grad_outputs():
    x = leaf([1.0, 2.0])
    a, b = x * 2.0, x * x
    (g,) = mg.autograd.grad(
        [a, b],
        x,
        [mg.tensor([1.0, 10.0], dtype=mg.float64), mg.ones(2, dtype=mg.float64)],
    )
    np.testing.assert_allclose(g.data, [2.0 + 2.0, 20.0 + 4.0])


def test_grad_input_not_requiring_grad_raises():
    x = leaf([1.0])
    c = mg.tensor([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.autograd.grad((x * c).sum(), c)


# -- grad modes ----------------------------------------------------------------


def test_no_grad_records_nothing_and_restores():
    x = leaf([1.0])
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2.0
    assert mg.is_grad_enabled()
    assert not y.requires_grad
    assert y.grad_fn is None


def test_no_grad_restores_after_exception():
    with pytest.raises(ValueError, match="boom"), mg.no_grad():
        raise ValueError("boom")
    assert mg.is_grad_enabled()


def test_no_grad_as_decorator_with_and_without_parentheses():
    x = leaf([1.0])

    @mg.no_grad()
    def f(t):
        return t * 2.0

    @mg.no_grad
    def g(t):
        return t * 2.0

    assert not f(x).requires_grad
    assert not g(x).requires_grad
    assert f.__name__ == "f"
    assert g.__name__ == "g"
    assert mg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with mg.no_grad():
        with mg.enable_grad():
            y = x * 2.0
        z = x * 2.0
    assert y.requires_grad
    assert not z.requires_grad

    @mg.enable_grad()
    def f(t):
        return t * 2.0

    with mg.no_grad():
        assert f(x).requires_grad


def test_set_grad_enabled_as_call_context_and_decorator():
    x = leaf([1.0])
    mg.set_grad_enabled(False)
    try:
        assert not (x * 2.0).requires_grad
    finally:
        mg.set_grad_enabled(True)
    assert (x * 2.0).requires_grad
    with mg.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
    assert mg.is_grad_enabled()

    @mg.set_grad_enabled(False)
    def f(t):
        return t * 2.0

    assert mg.is_grad_enabled()  # decorating does not switch the mode
    assert not f(x).requires_grad
    assert mg.is_grad_enabled()


def _run_threads(*targets):
    # Runs each target in its own thread; re-raises the first failure here.
    errors = []

    def guard(fn):
        try:
            fn()
        except BaseException as e:  # reported in the main thread
            errors.append(e)

    threads = [threading.Thread(target=guard, args=(fn,)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    if errors:
        raise errors[0]


def test_grad_mode_is_per_thread():
    # Thread A sits inside no_grad while thread B records (and backprops) a
    # graph; then B sits inside set_grad_enabled(False) while A, back outside
    # no_grad, records. Like PyTorch, one thread's mode never leaks into another.
    barrier = threading.Barrier(2, timeout=20)
    seen = {}

    def a():
        x = leaf([1.0, 2.0])
        with mg.no_grad():
            barrier.wait()  # 1: A is in no_grad
            barrier.wait()  # 2: B has recorded its graph
            seen["a_inside"] = (mg.is_grad_enabled(), (x * 2).requires_grad)
        barrier.wait()  # 3: B is in set_grad_enabled(False)
        y = x * 2
        seen["a_after"] = (mg.is_grad_enabled(), y.grad_fn is not None)
        barrier.wait()  # 4

    def b():
        x = leaf([1.0, 2.0])
        barrier.wait()  # 1
        y = (x * 3).sum()
        seen["b_during_a"] = (mg.is_grad_enabled(), y.grad_fn is not None)
        y.backward()
        seen["b_grad"] = x.grad.tolist()
        barrier.wait()  # 2
        with mg.set_grad_enabled(False):
            barrier.wait()  # 3
            barrier.wait()  # 4
            seen["b_inside"] = (mg.is_grad_enabled(), (x * 2).requires_grad)

    _run_threads(a, b)
    assert seen == {
        "a_inside": (False, False),
        "b_during_a": (True, True),
        "b_grad": [3.0, 3.0],
        "a_after": (True, True),
        "b_inside": (False, False),
    }
    assert mg.is_grad_enabled()


def test_new_threads_start_with_grad_enabled():
    seen = []

    def child():
        seen.append((mg.is_grad_enabled(), (leaf([1.0]) * 2).requires_grad))

    with mg.no_grad():
        _run_threads(child)
        assert not mg.is_grad_enabled()
    mg.set_grad_enabled(False)
    try:
        _run_threads(child)
    finally:
        mg.set_grad_enabled(True)
    assert seen == [(True, True), (True, True)]


# -- detach, retain_grad, hooks ------------------------------------------------


def test_detach_shares_memory_and_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    d = y.detach()
    assert not d.requires_grad
    assert d.grad_fn is None
    assert d.is_leaf
    assert np.shares_memory(d.data, y.data)
    (y * d).sum().backward()  # d is a constant: dL/dx = 3 * d
    np.testing.assert_allclose(x.grad.data, 3 * d.data)


def test_retain_grad_keeps_non_leaf_grad_and_accumulates():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    z = x * 3.0
    y.retain_grad()
    loss = (y * y + z).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(y.grad.data, 2 * y.data)
    assert z.grad is None
    loss.backward()
    np.testing.assert_allclose(y.grad.data, 4 * y.data)


def test_register_hook_on_leaf_modifies_grad():
    x = leaf([1.0, 2.0])
    seen = []

    def hook(g):
        seen.append(g.data.copy())
        return g * 10.0

    handle = x.register_hook(hook)
    (x * x).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    np.testing.assert_allclose(x.grad.data, [20.0, 40.0])
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])
    assert len(seen) == 1


def test_register_hook_on_non_leaf_changes_what_flows_on():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    y.retain_grad()
    handle = y.register_hook(lambda g: g * 0.5)
    (y * 1.0).sum().backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.data, [1.5, 1.5])
    np.testing.assert_allclose(y.grad.data, [0.5, 0.5])  # .grad sees the hooked value
    handle.remove()
    x.grad = None
    (y * 1.0).sum().backward()  # the hook is gone; the first graph was freed
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_register_hook_observer_returning_none_keeps_grad():
    x = leaf([1.0])
    calls = []
    x.register_hook(lambda g: calls.append(g.item()))
    (x * 4.0).sum().backward()
    assert calls == [4.0]
    assert x.grad.item() == 4.0


def test_register_hook_must_return_tensor_or_none():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: "nope")
    with pytest.raises(TypeError, match="must return a Tensor or None"):
        (x * 2.0).sum().backward()
    y = leaf([1.0, 2.0])
    y.register_hook(lambda g: mg.zeros(3, dtype=mg.float64))
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*\(2,\)"):
        (y * 2.0).sum().backward()


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).register_hook(lambda g: g)


# -- user-defined Functions ----------------------------------------------------


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * 3.0 * x * x


class ScaledMul(Function):
    """y = a * b * k with a non-tensor argument k."""

    @staticmethod
    def forward(ctx, a, b, k):
        ctx.save_for_backward(a, b)
        ctx.k = k
        return a * b * k

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        ga = grad_out * b * ctx.k if ctx.needs_input_grad[0] else None
        gb = grad_out * a * ctx.k if ctx.needs_input_grad[1] else None
        return ga, gb, None


class ExpOut(Function):
    """Saves its output."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * y


class SortWithIndices(Function):
    @staticmethod
    def forward(ctx, x):
        idx = np.argsort(x.data)
        ctx.idx = idx
        ind = mg.tensor(idx)
        ctx.mark_non_differentiable(ind)
        return mg.tensor(x.data[idx], dtype=x.dtype), ind

    @staticmethod
    def backward(ctx, g_values, g_indices):
        out = np.zeros(g_values.shape, g_values.dtype)
        out[ctx.idx] = g_values.data
        return mg.Tensor(out)


def test_function_custom_forward_backward():
    x = leaf([1.0, -2.0])
    y = Cube.apply(x)
    assert y.grad_fn.name() == "CubeBackward"
    np.testing.assert_allclose(y.data, x.data**3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * x.data**2)


def test_function_forward_runs_without_recording():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(mg.is_grad_enabled())
            y = x * 2.0
            seen.append(y.requires_grad)
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2.0

    assert Probe.apply(leaf([1.0])).requires_grad
    assert seen == [False, False]


def test_function_needs_input_grad_and_non_tensor_args():
    a, b = leaf([2.0]), mg.tensor([5.0], dtype=mg.float64)
    seen = {}

    class Spy(ScaledMul):
        @staticmethod
        def backward(ctx, grad_out):
            seen["needs"] = ctx.needs_input_grad
            return ScaledMul.backward(ctx, grad_out)

    Spy.apply(a, b, 3.0).sum().backward()
    assert seen["needs"] == (True, False, False)
    np.testing.assert_allclose(a.grad.data, [15.0])
    assert mg.autograd.gradcheck(
        lambda a, b: ScaledMul.apply(a, b, 3.0), (a, leaf([5.0]))
    )


def test_function_saved_output_supports_double_backward():
    x = leaf([0.5, 1.0])
    assert mg.autograd.gradcheck(ExpOut.apply, (x,))
    assert mg.autograd.gradgradcheck(ExpOut.apply, (x,))


def test_function_mark_non_differentiable():
    x = leaf([3.0, 1.0, 2.0])
    values, indices = SortWithIndices.apply(x)
    assert values.requires_grad
    assert not indices.requires_grad
    assert indices.dtype == mg.int64
    (values * mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 1.0, 2.0])


def test_function_wrong_number_of_grads_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    y = Bad.apply(leaf([1.0]), leaf([2.0]))
    with pytest.raises(RuntimeError, match=r"BadBackward.*1 gradients.*2 inputs"):
        y.sum().backward()


def test_function_wrong_grad_shape_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, g):
            return mg.ones(5, dtype=mg.float64)

    y = Bad.apply(leaf(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match=r"BadBackward.*\(5,\).*\(2, 3\)"):
        y.sum().backward()


def test_function_forward_must_return_tensors():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a):
            return "nope"

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match=r"Bad.forward"):
        Bad.apply(leaf([1.0]))


# -- version counters ----------------------------------------------------------


def test_version_counter_catches_modified_saved_output():
    x = leaf([1.0, 2.0])
    y = x.exp()  # Exp saves its output
    y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"ExpBackward.*modified by an in-place"):
        y.sum().backward()


def test_version_counter_catches_modified_saved_input():
    x = leaf([1.0, 2.0])
    a = x * 1.0
    b = a * a  # Mul saves a
    a.mul_(2.0)
    with pytest.raises(RuntimeError, match="MulBackward"):
        b.sum().backward()


def test_version_counter_catches_setitem_and_views():
    x = leaf([1.0, 2.0, 3.0])
    a = x * 1.0
    b = a.log()  # Log saves its input
    a[0] = 5.0
    with pytest.raises(RuntimeError, match="LogBackward"):
        b.sum().backward()
    c = x * 1.0
    d = c.log()
    view = c[1:]
    with mg.no_grad():
        view.mul_(2.0)  # an in-place op on a view bumps the base's version
    with pytest.raises(RuntimeError, match="LogBackward"):
        d.sum().backward()


def test_version_counter_increments_on_in_place_ops():
    t = mg.zeros(3)
    v0 = t._version[0]
    t.add_(1.0)
    t[0] = 2.0
    t.zero_()
    assert t._version[0] == v0 + 3


# -- anomaly detection ---------------------------------------------------------


def test_detect_anomaly_names_the_op_producing_nan():
    x = leaf([0.0, 1.0])
    with mg.autograd.detect_anomaly():
        y = x.sqrt()  # d sqrt / dx at 0 is inf
        with pytest.raises(RuntimeError, match=r"SqrtBackward.*inf") as info:
            y.sum().backward()
    assert "test_autograd.py" in str(info.value)  # the forward trace
    x2 = leaf([-1.0, 1.0])
    with mg.autograd.detect_anomaly():
        y2 = (x2 * 2.0).pow(0.5).sum()  # nan where x2 < 0
        with pytest.raises(RuntimeError, match=r"PowScalarBackward.*nan"):
            y2.backward()


def test_without_detect_anomaly_nan_flows():
    x = leaf([0.0, 1.0])
    x.sqrt().sum().backward()
    assert np.isinf(x.grad.data[0])


# -- scalar-root fast path (engine.backward_scalar) ---------------------------


def test_scalar_backward_fast_path_semantics():
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()  # retained: a second pass accumulates
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0, 12.0])
    assert x.grad.dtype == np.float64
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()  # the graph is freed now
    # a 1-element root that is not 0-d, and a leaf root
    z = mg.tensor([[2.0]], requires_grad=True)
    (z * 3.0).backward()
    np.testing.assert_array_equal(z.grad.numpy(), [[3.0]])
    z.grad = None
    z.backward()
    np.testing.assert_array_equal(z.grad.numpy(), [[1.0]])
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2.0).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor(1.0).backward()


def test_scalar_backward_fast_path_hooks_retain_grad_and_create_graph():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    y = (x * x).sum()
    seen = []
    y.register_hook(lambda g: seen.append(g.item()) or g * 10.0)
    y.retain_grad()
    y.backward(create_graph=True)
    assert seen == [1.0]
    assert y.grad.item() == 10.0  # retained after the hooks ran
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 40.0])
    assert x.grad.requires_grad  # create_graph recorded the backward
    (gg,) = mg.autograd.grad(x.grad.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), [20.0, 20.0])


def test_scalar_backward_of_one_output_of_a_multi_output_op():
    class TwoOut(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0, x * 3.0

        @staticmethod
        def backward(ctx, ga, gb):
            return ga * 2.0 + gb * 3.0

    x = mg.tensor([1.5], requires_grad=True)
    a, b = TwoOut.apply(x)
    assert a.grad_fn is b.grad_fn
    b.backward()  # one element, from a two-output node: the general path
    np.testing.assert_array_equal(x.grad.numpy(), [3.0])


def test_sum_gradient_of_a_broadcast_input_is_c_order():
    # A zero stride sorts last by size, but the gradient of a broadcast is
    # summed next (Expand's backward): C order, not the transpose.
    x = leaf(np.arange(4.0))
    e = x.expand(3, 4)
    seen = []
    e.register_hook(seen.append)
    e.sum().backward()
    assert seen[0].data.flags.c_contiguous
    np.testing.assert_array_equal(x.grad.data, np.full(4, 3.0))
