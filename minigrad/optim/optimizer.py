"""The Optimizer base class: parameter groups, state, state_dict. Layer: optim.

Imports ``minigrad.tensor`` and ``minigrad.autograd``; nothing from ``nn``.

# Note [Optimizer updates]
An optimizer changes parameters in place, outside autograd: each subclass's
``_update_group`` reads ``p.grad.data`` and writes ``p.data`` with numpy
operations (``out=`` wherever it saves a temporary), then bumps ``p._version``
so that a graph which saved ``p`` before the step refuses to backpropagate
through the stale value (PyTorch does the same). No Tensor op runs, so no graph
is built and there is no per-op autograd overhead. Per-parameter state
(``exp_avg``...) is held as Tensors wrapping numpy arrays that are updated in
place; ``step`` counts are Python ints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from minigrad.autograd._tape import recorded
from minigrad.autograd.grad_mode import enable_grad
from minigrad.errors import ArgumentError, ShapeError
from minigrad.tensor import Tensor

__all__ = ["Optimizer", "ParamsT"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class _Required:
    """Marks an option every parameter group must give (no default)."""

    def __repr__(self) -> str:
        return "<required>"


required = _Required()


class Optimizer:
    """Base class of the optimizers: holds parameter groups and per-parameter state.

    Parameters
    ----------
    params : iterable of Tensor, or iterable of dict
        The tensors to optimize, or parameter groups: dicts with a ``"params"``
        entry and any options that override ``defaults`` for that group.
    defaults : dict
        The default value of each option (``lr``, ``momentum``...).

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (a list of Tensors) and every option.
    state : dict
        Per-parameter state, keyed by the parameter Tensor.

    Raises
    ------
    TypeError
        ``params`` is a single Tensor, a Module, a set, or holds something other than
        floating-point Tensors.
    ValueError
        An empty parameter list, a non-leaf tensor, or a tensor that appears twice.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or "
                "dicts, got a single Tensor (wrap it in a list)"
            )
        if callable(getattr(params, "parameters", None)):
            # A Module (nn is not imported here): PyTorch fails with "'Linear'
            # object is not iterable", which does not say what to do.
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or "
                f"dicts, got a {type(params).__name__} module; pass its parameters: "
                f"{type(self).__name__}(model.parameters(), ...)"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{type(self).__name__}: params should be an ordered iterable; a set "
                "has no stable order between runs (use a list)"
            )
        groups: list[Any] = list(params)  # Tensors, or dicts (checked below)
        if not groups:
            raise ArgumentError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # -- groups ---------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a group of parameters with its own options.

        Parameters
        ----------
        param_group : dict
            ``{"params": tensors, **options}``; missing options take the
            optimizer's defaults.

        Raises
        ------
        TypeError
            ``param_group`` is not a dict, or its params are not floating Tensors.
        ValueError
            A required option is missing, or a parameter is already in a group.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{name}.add_param_group: expected a dict, got "
                f"{type(param_group).__name__}"
            )
        params = param_group.get("params")
        if params is None:
            raise ArgumentError(
                f"{name}.add_param_group: the dict has no 'params' entry"
            )
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: parameter groups should hold ordered collections; "
                "a set has no stable order (use a list)"
            )
        else:
            params = list(params)
        for p in params:
            _check_param(name, p)
        group = dict(param_group)
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ArgumentError(
                    f"{name}: parameter group does not give the required option {key!r}"
                )
            group.setdefault(key, default)
        self._check_options(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or seen.intersection(ids):
            raise ArgumentError(
                f"{name}: some parameters appear in more than one parameter group "
                "(or twice in one)"
            )
        self.param_groups.append(group)
        self._init_group_state(group)

    # The option choosing the fused C step (minigrad/optim/_fused.py).
    _fused_key = "fused"

    # Options that must be >= 0; subclasses name theirs and add other checks.
    _nonnegative: tuple[str, ...] = ()

    def _check_options(self, group: dict[str, Any]) -> None:
        """Validates one group's options (raises ValueError)."""
        if self._fused_key in group:
            from minigrad.optim._fused import check_fused_option

            check_fused_option(type(self).__name__, group, self._fused_key)
        for key in self._nonnegative:
            if group[key] < 0.0:
                raise ArgumentError(
                    f"{type(self).__name__}: invalid {key} {group[key]!r} "
                    "(must be >= 0)"
                )

    def _init_group_state(self, group: dict[str, Any]) -> None:
        """Creates state eagerly for a new group (Adagrad); most create it lazily."""

    # -- the step -------------------------------------------------------------
    @recorded("zero_grad")
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears the gradients of every optimized parameter.

        Parameters
        ----------
        set_to_none : bool
            ``True`` (the default) sets ``p.grad = None``, which is cheaper and lets
            the next backward store its gradient directly; ``False`` replaces it
            with zeros of the parameter's shape.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad = Tensor._wrap(np.zeros_like(p.data))

    @recorded("optimizer")
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Performs one update of every parameter that has a gradient.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (run with grad enabled).

        Returns
        -------
        The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define an update")

    # -- state dict -----------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer, laid out as PyTorch's.

        Returns
        -------
        dict
            ``{"state": {index: {name: value}}, "param_groups": [options]}``, where
            parameters are numbered in group order from 0 and each group's
            ``"params"`` lists its indices. Tensors in the state are copies, so
            training on does not change a saved snapshot.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {
            index[id(p)]: {k: _snapshot(v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores options and state saved by :meth:`state_dict`.

        State arrays are copied and cast to each parameter's dtype (``step`` stays
        an int); the groups keep this optimizer's parameters and take the saved
        options.

        Raises
        ------
        ValueError
            The number of groups, a group's size, or a state array's shape differs
            from this optimizer's; or ``state_dict`` lacks a key.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(
            state_dict
        ):
            raise ArgumentError(
                f"{name}: expected a dict with 'state' and 'param_groups'"
            )
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ArgumentError(
                f"{name}: the saved state has {len(saved_groups)} parameter group(s), "
                f"this optimizer has {len(self.param_groups)}"
            )
        id_to_param: dict[Any, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ArgumentError(
                    f"{name}: parameter group {i} has {len(group['params'])} "
                    f"parameters, the saved group has {len(saved['params'])}"
                )
            for idx, p in zip(saved["params"], group["params"]):
                id_to_param[int(idx)] = p
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for idx, pstate in state_dict["state"].items():
            p = id_to_param.get(int(idx))
            if p is None:
                continue  # PyTorch ignores state for unknown indices too
            new_state[p] = {k: _restore(name, k, v, p) for k, v in pstate.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            g = {k: v for k, v in saved.items() if k != "params"}
            for key, default in self.defaults.items():
                g.setdefault(key, group.get(key, default))
            if "betas" in g:
                g["betas"] = tuple(float(b) for b in g["betas"])
            g["params"] = group["params"]
            new_groups.append(g)
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        lines.append(")")
        return "\n".join(lines)


def _directed_grad(g: Any, x: Any, maximize: bool, weight_decay: float) -> Any:
    """The gradient an update follows: negated to maximize, plus the L2 term
    ``weight_decay * x``. A new array whenever it differs from ``g``: p.grad is
    never written."""
    if maximize:
        g = np.negative(g)
    if weight_decay != 0:
        g = g + weight_decay * x
    return g


def _check_param(opt: str, p: Any) -> None:
    if not isinstance(p, Tensor):
        raise TypeError(f"{opt}: can only optimize Tensors, got {type(p).__name__}")
    if p.data.dtype.kind != "f":
        raise TypeError(
            f"{opt}: can only optimize floating-point tensors, got dtype {p.dtype}"
        )
    if p.grad_fn is not None:
        raise ShapeError(
            f"{opt}: can't optimize a non-leaf Tensor (shape {p.shape}); optimize "
            "the leaf it was computed from, or detach it and set requires_grad"
        )


def _snapshot(v: Any) -> Any:
    if isinstance(v, Tensor):
        return Tensor._wrap(v.data.copy())
    if isinstance(v, np.ndarray):
        return v.copy()
    return v


def _restore(where: str, key: str, v: Any, p: Tensor) -> Any:
    """One saved state value, as this optimizer holds it for parameter ``p``."""
    if key == "step":
        return int(np.asarray(v.data if isinstance(v, Tensor) else v).reshape(()))
    if isinstance(v, (Tensor, np.ndarray)) or hasattr(v, "__array__"):
        arr = np.array(v.data if isinstance(v, Tensor) else v, dtype=p.data.dtype)
        if arr.shape != p.shape:
            raise ShapeError(
                f"{where}: state {key!r} has shape {arr.shape}, the parameter has "
                f"shape {p.shape}"
            )
        return Tensor._wrap(arr)
    return v
