"""Module: the base class of every layer, with PyTorch's registration rules.

Layer: nn. Imports ``minigrad.tensor``, ``minigrad.autograd`` and
``minigrad.nn.parameter``; nothing above.

A Module keeps three ordered registries: ``_parameters`` (:class:`Parameter`),
``_buffers`` (Tensors that are state but not learned, e.g. running statistics)
and ``_modules`` (children). Assigning an attribute registers it by its type;
reading one falls back to the registries. Traversals (``named_parameters``,
``named_modules``, ``state_dict``) visit them in registration order and name
entries with dotted paths (``"0.weight"``, ``"bn.running_mean"``), the keys
PyTorch uses, so a state_dict moves between the two as numpy arrays.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy as np

from minigrad._C._core import current_tape as _current_tape
from minigrad.autograd._tape import note_module, recorded
from minigrad.autograd.grad_mode import no_grad
from minigrad.device import check_device, parse_to
from minigrad.errors import ArgumentError
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = ["IncompatibleKeys", "Module", "StateDictError"]

M = TypeVar("M", bound="Module")


class StateDictError(RuntimeError, ValueError):
    """A state_dict does not fit the module (missing or unexpected keys, shapes).

    A RuntimeError like PyTorch's, and a ValueError because the value is bad.
    """


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` could not match: keys the module has but the
    state_dict lacks, and keys the state_dict has but the module lacks."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class _RemovableHandle:
    """Returned by the hook registrations; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Any]) -> None:
        self._hooks = hooks
        self.id = _RemovableHandle._next_id
        _RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def _as_array(value: Any, key: str) -> np.ndarray:
    """A state_dict value (Tensor, ndarray, or an object with ``numpy()``, e.g.
    a torch tensor) as a numpy array."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        arr = value
    elif hasattr(value, "detach") and hasattr(value, "numpy"):
        arr = np.asarray(value.detach().cpu().numpy())
    else:
        try:
            arr = np.asarray(value)
        except Exception as e:
            raise TypeError(
                f"load_state_dict: value for {key!r} of type {type(value).__name__} "
                "is not a Tensor or array"
            ) from e
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"load_state_dict: value for {key!r} has dtype {arr.dtype}, "
            "expected a numeric or bool array"
        )
    return arr


class Module:
    """Base class of all layers; subclass it and define ``forward``.

    Assign :class:`Parameter` s, sub-modules and buffers (``register_buffer``) in
    ``__init__`` after calling ``super().__init__()``; calling the module runs
    ``forward`` (plus any forward hooks).
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _current_tape() is not None:  # Note [Captured steps]
            note_module(self)
        if not (self._forward_hooks or self._forward_pre_hooks):
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    def register_forward_hook(self, hook: Callable[..., Any]) -> _RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; a non-None
        result replaces the output. Returns a handle with ``remove()``."""
        handle = _RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> _RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; a non-None result
        replaces the positional arguments. Returns a handle with ``remove()``."""
        handle = _RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # -- registration ---------------------------------------------------------
    def _check_name(self, name: Any, kind: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {kind} before Module.__init__() call "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name)}")
        if name == "" or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got {name!r}')

    def _check_free(self, name: str, registry: dict[str, Any]) -> None:
        if name not in registry and hasattr(self, name):
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Adds ``param`` (or ``None``, a declared but absent parameter)."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter "
                f"'{name}' (nn.Parameter or None required)"
            )
        self._check_free(name, self._parameters)
        self._parameters[name] = param

    def register_buffer(
        self, name: str, tensor: Tensor | None, persistent: bool = True
    ) -> None:
        """Adds a buffer: state that is not learned (running statistics).

        Persistent buffers are part of ``state_dict``; non-persistent ones are not.
        """
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer "
                f"'{name}' (Tensor or None required)"
            )
        self._check_free(name, self._buffers)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Adds a child module (``None`` declares an absent one)."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_free(name, self._modules)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._check_name(name, "parameter")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._check_name(name, "module")
            self._forget(name)
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module "
                    f"'{name}' (nn.Module or None expected)"
                )
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(Tensor or None expected)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        self.__dict__.pop(name, None)
        for reg in (self._parameters, self._buffers, self._modules):
            reg.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: the registries hold the rest.
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            r = d.get(reg)
            if r is not None and name in r:
                return r[name]
        hint = ""
        if "_parameters" not in d:
            hint = f" (did {type(self).__name__}.__init__ call super().__init__()?)"
        raise AttributeError(
            f"'{type(self).__name__}' object has no attribute '{name}'{hint}"
        )

    def __delattr__(self, name: str) -> None:
        for reg in (self._parameters, self._buffers, self._modules):
            if name in reg:
                del reg[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        keys = set(super().__dir__())
        keys.update(self._parameters, self._buffers, self._modules)
        return sorted(k for k in keys if not k[:1].isdigit())

    # -- traversal ------------------------------------------------------------
    def named_modules(
        self,
        memo: set[int] | None = None,
        prefix: str = "",
        remove_duplicate: bool = True,
    ) -> Iterator[tuple[str, Module]]:
        """This module and all below it, depth first, as (dotted name, module);
        a module reachable twice is yielded once unless ``remove_duplicate=False``."""
        if memo is None:
            memo = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield name, mod
            kids = [
                (f"{name}.{k}" if name else k, m)
                for k, m in mod._modules.items()
                if m is not None
            ]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Any]]:
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        seen: set[int] = set()
        for mod_name, mod in mods:
            for name, t in getattr(mod, registry).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mod_name}.{name}" if mod_name else name), t

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a shared parameter is yielded once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The module at dotted path ``target`` (``""`` is this module)."""
        mod = self
        for part in target.split(".") if target else []:
            sub = mod._modules.get(part)
            if sub is None:
                raise AttributeError(
                    f"{type(mod).__name__} has no submodule {part!r} (in {target!r})"
                )
            mod = sub
        return mod

    # -- state ----------------------------------------------------------------
    def state_dict(
        self,
        destination: dict[str, Any] | None = None,
        prefix: str = "",
        keep_vars: bool = False,
    ) -> dict[str, Any]:
        """Parameters and persistent buffers by dotted name, in registration order.

        Values are detached Tensors sharing memory with the module's (PyTorch's
        convention; ``keep_vars=True`` returns the Parameters themselves). Use
        ``{k: v.numpy() for k, v in sd.items()}`` to hand them to another library.
        """
        out: dict[str, Any] = OrderedDict() if destination is None else destination
        mods = self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False)
        for mod_name, mod in mods:
            pre = f"{mod_name}." if mod_name else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    out[pre + name] = p if keep_vars else p.detach()
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent_buffers:
                    out[pre + name] = b if keep_vars else b.detach()
        return out

    def _state_entries(self) -> dict[str, Tensor]:
        return self.state_dict(keep_vars=True)

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copies values into this module's parameters and persistent buffers.

        Parameters
        ----------
        state_dict : mapping of dotted name to Tensor, numpy array (or any
            object with ``numpy()``, such as a torch tensor)
        strict : bool
            Raise when keys are missing or unexpected (shapes must always match).

        Returns
        -------
        IncompatibleKeys : (missing_keys, unexpected_keys)

        Raises
        ------
        StateDictError (a RuntimeError and ValueError)
            A shape differs, or ``strict`` and the keys differ.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict: expected a mapping, got {type(state_dict).__name__}"
            )
        own = self._state_entries()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors: list[str] = []
        if strict:
            if unexpected:
                errors.append(
                    "Unexpected key(s) in state_dict: "
                    + ", ".join(f'"{k}"' for k in unexpected)
                )
            if missing:
                errors.append(
                    "Missing key(s) in state_dict: "
                    + ", ".join(f'"{k}"' for k in missing)
                )
        pairs = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            arr = _as_array(state_dict[key], key)
            if arr.shape != target.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{arr.shape} from checkpoint, the shape in current model is "
                    f"{target.shape}."
                )
            else:
                pairs.append((target, arr))
        if errors:
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        with no_grad():
            for target, arr in pairs:
                np.copyto(target.data, arr, casting="unsafe")
                target._version[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # -- modes and gradients ----------------------------------------------------
    def train(self: M, mode: bool = True) -> M:
        """Sets training mode (Dropout drops, BatchNorm uses batch statistics)."""
        if not isinstance(mode, bool):
            raise ArgumentError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self: M) -> M:
        """Sets evaluation mode; same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    @recorded("zero_grad")
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears every parameter's ``.grad`` (to None, or to zeros in place)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad = p.grad.detach()
                p.grad.requires_grad = False
                with no_grad():
                    p.grad.zero_()

    def apply(self: M, fn: Callable[[Module], Any]) -> M:
        """Calls ``fn`` on every child (recursively), then on this module."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- dtype ---------------------------------------------------------------
    def to(self: M, *args: Any, **kwargs: Any) -> M:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``: casts floating
        parameters and buffers to ``dtype`` in place (the Parameter objects stay
        the same, so an optimizer keeps working). Devices other than the CPU
        raise."""
        d = parse_to(args, kwargs, "Module.to")
        if d is None:
            return self
        if d.kind != "f":
            raise TypeError(f"Module.to: dtype must be floating point, got {d}")
        for t in [*self.parameters(), *self.buffers()]:
            if t.data.dtype.kind == "f" and t.data.dtype != d:
                t.data = t.data.astype(d)
                t._version[0] += 1
                if t.grad is not None:
                    t.grad = Tensor._wrap(t.grad.data.astype(d))
        return self

    def float(self: M) -> M:
        return self.to(np.float32)

    def double(self: M) -> M:
        return self.to(np.float64)

    def half(self: M) -> M:
        return self.to(np.float16)

    def cpu(self: M) -> M:
        return self

    def cuda(self: M, device: Any = None) -> M:
        check_device("cuda" if device is None else device, "Module.cuda")
        return self

    # -- display ----------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (override it)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not self._modules:
            return f"{self._get_name()}({extra})"
        inner = "\n  ".join(lines)
        return f"{self._get_name()}(\n  {inner}\n)"

    def summary(self, input: Any, dtype: Any = None) -> Any:
        """A table of layers, output shapes and parameter counts.

        Parameters
        ----------
        input : tuple of ints (an input shape, batch included) or an example
            Tensor / array (or a tuple of them for several inputs)
        dtype : dtype of the zero input built from a shape (default: the
            parameters' dtype, else float32)

        Returns
        -------
        ModelSummary : prints as the table; has ``rows``, ``total_params``,
            ``trainable_params``.
        """
        from minigrad.nn.summary import summarize

        return summarize(self, input, dtype)
