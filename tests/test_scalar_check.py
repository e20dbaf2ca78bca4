"""mg.autograd.gradcheck on functions of scalar Values (minigrad.scalar.check)."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.autograd import gradcheck
from minigrad.autograd.gradcheck import GradcheckError, compute_checks
from minigrad.scalar import Value
from minigrad.scalar.check import value_checks


def wrong_square(x: Value) -> Value:
    """x², built with the low-level constructor and a wrong local derivative
    (x instead of 2x): the kind of bug gradcheck exists to catch."""
    return Value(x.data**2, (x,), "square", _local_grads=(x.data,))


def test_value_gradcheck_passes_on_correct_function():
    a, b = Value(0.7), Value(-1.3)
    assert gradcheck(lambda a, b: (a * b + a.exp()).tanh() / (b * b + 1), (a, b))


def test_value_gradcheck_passes_on_correct_custom_op():
    def square(x: Value) -> Value:
        return Value(x.data**2, (x,), "square", _local_grads=(2 * x.data,))

    assert gradcheck(lambda x: square(x) + x, (Value(1.5),))


def test_value_gradcheck_reports_wrong_gradient():
    x = Value(1.5)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: wrong_square(x) * 3.0, (x,))
    message = str(info.value)
    assert (
        "input 0 (shape ()), output shape (): 1 of 1 Jacobian entries differ" in message
    )
    # analytical 3·x = 4.5, numerical 3·2x = 9
    assert "4.5" in message
    assert "9" in message
    (check,) = info.value.checks
    assert check.analytical[0, 0] == pytest.approx(4.5)
    assert check.numerical[0, 0] == pytest.approx(9.0, rel=1e-6)
    assert not gradcheck(lambda x: wrong_square(x), (x,), raise_exception=False)


def test_value_checks_multiple_outputs_and_mixed_inputs():
    a, b = Value(0.5), Value(2.0)
    checks = compute_checks(
        lambda a, k, b: [a * b, (a + k).relu(), 7.0], (a, 3.0, b), 1e-6, 1e-5, 1e-3
    )
    assert [c.index for c in checks] == [0, 2]
    assert all(c.passed for c in checks)
    assert checks[0].output_shape == (3,)
    np.testing.assert_allclose(checks[0].analytical, [[2.0, 1.0, 0.0]])
    np.testing.assert_allclose(checks[1].analytical, [[0.5, 0.0, 0.0]])
    np.testing.assert_allclose(checks[1].numerical, [[0.5, 0.0, 0.0]], atol=1e-8)


def test_value_checks_leave_grads_and_data_as_found():
    a = Value(0.5)
    hidden = Value(3.0) * 2.0  # made outside fn: backward reaches it every call
    hidden.grad = 42.0
    a.grad = -1.0
    (check,) = value_checks(lambda a: hidden * a * a, (a,), 1e-6, 1e-5, 1e-3)
    assert check.passed
    assert check.analytical[0, 0] == pytest.approx(2 * 6.0 * 0.5)
    assert (a.grad, hidden.grad, a.data) == (-1.0, 42.0, 0.5)


def test_value_gradcheck_unused_input_has_zero_gradient():
    a, b = Value(1.0), Value(2.0)
    b.grad = 5.0
    (_, cb) = value_checks(lambda a, b: a * a, (a, b), 1e-6, 1e-5, 1e-3)
    assert cb.analytical[0, 0] == 0.0
    assert cb.passed


def test_value_gradcheck_bad_arguments():
    with pytest.raises(ValueError, match="no input is a Value"):
        value_checks(lambda x: x, (1.0,), 1e-6, 1e-5, 1e-3)
    with pytest.raises(TypeError, match="must return a Value"):
        gradcheck(lambda x: "x", (Value(1.0),))
    with pytest.raises(ValueError, match="returned no output"):
        gradcheck(lambda x: [], (Value(1.0),))


def test_value_checks_outputs_sharing_a_node():
    # backward accumulates into interior nodes, so each column must start from
    # zeroed gradients: h is reached from both outputs.
    def fn(a: Value) -> list[Value]:
        h = a * a
        return [h, h * 2.0]

    (check,) = value_checks(fn, (Value(1.5),), 1e-6, 1e-5, 1e-3)
    np.testing.assert_allclose(check.analytical, [[3.0, 6.0]])
    assert check.passed
