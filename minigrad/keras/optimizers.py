"""Keras's optimizers, with Keras's defaults, over :mod:`minigrad.optim`.
Layer: keras.

A Keras optimizer is created before the model's weights exist; it makes its
``minigrad.optim`` optimizer when the model is first trained (``_bind``).
``learning_rate`` reads and writes that optimizer's ``param_groups``, so
callbacks and ``minigrad.optim.lr_scheduler`` schedules see one rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad import optim
from minigrad.errors import ArgumentError
from minigrad.tensor import Tensor

__all__ = ["SGD", "Adagrad", "Adam", "Optimizer", "RMSprop", "get"]


class Optimizer:
    """Base class; subclasses define ``_make(params) -> minigrad.optim.Optimizer``."""

    def __init__(self, learning_rate: float, name: str) -> None:
        lr = float(learning_rate)
        if not lr >= 0.0:
            raise ArgumentError(
                f"{name}: learning_rate must be >= 0, got {learning_rate!r}"
            )
        self._lr = lr
        self.name = name
        self.optimizer: optim.Optimizer | None = None  # the minigrad optimizer

    def _make(self, params: list[Tensor]) -> optim.Optimizer:
        raise NotImplementedError

    def _bind(self, params: Iterable[Tensor]) -> optim.Optimizer:
        """The minigrad optimizer over ``params`` (made once)."""
        if self.optimizer is None:
            self.optimizer = self._make([p for p in params if p.requires_grad])
        return self.optimizer

    @property
    def learning_rate(self) -> float:
        if self.optimizer is None:
            return self._lr
        return float(self.optimizer.param_groups[0]["lr"])

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._lr = float(value)
        if self.optimizer is not None:
            for g in self.optimizer.param_groups:
                g["lr"] = float(value)

    lr = learning_rate

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class SGD(Optimizer):
    """Keras's SGD: ``learning_rate=0.01``, ``momentum=0.0``, ``nesterov=False``
    (the same updates as ``minigrad.optim.SGD`` at a constant rate)."""

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        name: str = "SGD",
    ) -> None:
        super().__init__(learning_rate, name)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _make(self, params: list[Tensor]) -> optim.Optimizer:
        return optim.SGD(
            params, lr=self._lr, momentum=self.momentum, nesterov=self.nesterov
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "nesterov": self.nesterov,
        }


class Adam(Optimizer):
    """Keras's Adam: ``learning_rate=0.001``, ``beta_1=0.9``, ``beta_2=0.999``,
    ``epsilon=1e-7``."""

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str = "Adam",
    ) -> None:
        super().__init__(learning_rate, name)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)

    def _make(self, params: list[Tensor]) -> optim.Optimizer:
        return optim.Adam(
            params,
            lr=self._lr,
            betas=(self.beta_1, self.beta_2),
            eps=self.epsilon,
            amsgrad=self.amsgrad,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class RMSprop(Optimizer):
    """Keras's RMSprop: ``learning_rate=0.001``, ``rho=0.9``, ``momentum=0.0``,
    ``epsilon=1e-7``, ``centered=False``."""

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        name: str = "RMSprop",
    ) -> None:
        super().__init__(learning_rate, name)
        self.rho, self.momentum = float(rho), float(momentum)
        self.epsilon, self.centered = float(epsilon), bool(centered)

    def _make(self, params: list[Tensor]) -> optim.Optimizer:
        return optim.RMSprop(
            params,
            lr=self._lr,
            alpha=self.rho,
            eps=self.epsilon,
            momentum=self.momentum,
            centered=self.centered,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """Keras's Adagrad: ``learning_rate=0.001``,
    ``initial_accumulator_value=0.1``, ``epsilon=1e-7``."""

    def __init__(
        self,
        learning_rate: float = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        name: str = "Adagrad",
    ) -> None:
        super().__init__(learning_rate, name)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _make(self, params: list[Tensor]) -> optim.Optimizer:
        return optim.Adagrad(
            params,
            lr=self._lr,
            initial_accumulator_value=self.initial_accumulator_value,
            eps=self.epsilon,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


# Each class has Keras's defaults for every argument (get() calls it bare).
OPTIMIZERS: dict[str, type[SGD | Adam | RMSprop | Adagrad]] = {
    c.__name__: c for c in (SGD, Adam, RMSprop, Adagrad)
}


def get(identifier: Any) -> Optimizer:
    """An optimizer by name ('sgd', 'adam', 'rmsprop', 'adagrad', with Keras's
    defaults) or object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        by_lower = {k.lower(): c for k, c in OPTIMIZERS.items()}
        cls = by_lower.get(identifier.lower())
        if cls is None:
            raise ArgumentError(
                f"compile: unknown optimizer {identifier!r}; use one of "
                f"{sorted(by_lower)} or an optimizer object"
            )
        return cls()
    if isinstance(identifier, optim.Optimizer):
        raise TypeError(
            "compile: pass a minigrad.keras.optimizers object (e.g. "
            "keras.optimizers.Adam(learning_rate=0.01)), not a minigrad.optim one"
        )
    raise TypeError(
        f"compile: optimizer must be a name or an optimizer, got {identifier!r}"
    )
