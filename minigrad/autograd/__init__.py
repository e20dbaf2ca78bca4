"""Autograd: Function, the backward engine, grad modes, gradcheck, anomaly detection."""

from minigrad.autograd.anomaly import detect_anomaly, set_detect_anomaly
from minigrad.autograd.engine import grad
from minigrad.autograd.function import Context, Function
from minigrad.autograd.grad_mode import (
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from minigrad.autograd.gradcheck import (
    GradcheckError,
    gradcheck,
    gradcheck_module,
)
from minigrad.autograd.gradgrad import gradgradcheck

__all__ = [
    "Context",
    "Function",
    "GradcheckError",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradcheck_module",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
]
