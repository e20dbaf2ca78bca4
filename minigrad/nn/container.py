"""Containers: Sequential, ModuleList, ModuleDict. Layer: nn.

Children are registered under their index (``"0"``, ``"1"``, ...) or key, the
names PyTorch uses, so state_dict keys read ``"0.weight"``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

from minigrad.nn.activation import ReLU, Sigmoid, Tanh
from minigrad.nn.linear import Linear
from minigrad.nn.module import Module

__all__ = ["ModuleDict", "ModuleList", "Sequential"]


def _index(idx: int, n: int, cls: str) -> int:
    if not isinstance(idx, int):
        raise TypeError(f"{cls} indices must be integers or slices, not {type(idx)}")
    if not -n <= idx < n:
        raise IndexError(f"{cls} index {idx} is out of range for length {n}")
    return idx % n


# Fusable activation classes: their op name and the forward that fusing stands
# for (a class whose forward was since replaced is not fused).
_FUSABLE = {
    Sigmoid: ("sigmoid", Sigmoid.forward),
    Tanh: ("tanh", Tanh.forward),
    ReLU: ("relu", ReLU.forward),
}
_LINEAR_FORWARD = Linear.forward


class _IndexedModules(Module):
    """Shared behaviour of Sequential and ModuleList: children keyed "0".."n-1"."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def _renumber(self, mods: Iterable[Module]) -> None:
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __getitem__(self, idx: Any) -> Any:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return type(self)._from_list(mods[idx])
        return mods[_index(idx, len(mods), type(self).__name__)]

    def __setitem__(self, idx: int, module: Module) -> None:
        i = _index(idx, len(self), type(self).__name__)
        self.add_module(str(i), module)

    def __delitem__(self, idx: int | slice) -> None:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_index(idx, len(mods), type(self).__name__)]
        self._renumber(mods)

    def append(self, module: Module) -> Any:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Any:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._renumber(mods)

    def __iadd__(self, other: Iterable[Module]) -> Any:
        return self.extend(other)

    def __dir__(self) -> list[str]:
        return [k for k in super().__dir__() if not k.isdigit()]

    @classmethod
    def _from_list(cls, mods: list[Module]) -> Any:
        new = cls()
        new.extend(mods)
        return new


class Sequential(_IndexedModules):
    """Runs its children in order, each on the previous one's output.

    ``Sequential(m0, m1, ...)`` or ``Sequential(OrderedDict(name=module, ...))``;
    supports indexing (a slice gives a new Sequential), ``len``, iteration,
    ``append``, ``extend``, ``insert`` and ``del``.
    """

    @overload
    def __init__(self, *args: Module) -> None: ...

    @overload
    def __init__(self, arg: Mapping[str, Module], /) -> None: ...

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], Mapping):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                if not isinstance(m, Module):
                    raise TypeError(
                        f"Sequential: argument {i} is a {type(m).__name__}, "
                        "not a Module"
                    )
                self.add_module(str(i), m)

    def forward(self, input: Any) -> Any:
        # Note [Sequential fusion]
        # A Linear directly followed by a Sigmoid, Tanh or (not in-place) ReLU
        # runs as one fused linear+activation op: one graph node and one pass
        # over the output instead of two. Same values and gradients; the
        # intermediate (pre-activation) tensor is simply never materialized. Only
        # exact classes whose forward is not replaced, and only when neither
        # module has a forward hook or pre-hook (a hook would see that tensor),
        # so what a user can observe is unchanged. Neither module depends on
        # train/eval mode.
        pending = None  # a fusable Linear waiting for its successor
        for m in self._modules.values():
            if pending is not None:
                cls = type(m)
                fusable = _FUSABLE.get(cls)
                if (
                    fusable is not None
                    and not m._forward_hooks
                    and not m._forward_pre_hooks
                    and cls.forward is fusable[1]
                    and "forward" not in m.__dict__
                    and not (cls is ReLU and m.inplace)
                ):
                    input = pending._forward_act(input, fusable[0])
                    pending = None
                    continue
                input = pending.forward(input)
                pending = None
            if (
                type(m) is Linear
                and not m._forward_hooks
                and not m._forward_pre_hooks
                and Linear.forward is _LINEAR_FORWARD
                and "forward" not in m.__dict__
            ):
                pending = m
                continue
            input = m(input)
        if pending is not None:
            input = pending.forward(input)
        return input

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            keys = list(self._modules)[idx]
            return Sequential(OrderedDict((k, self._modules[k]) for k in keys))
        return super().__getitem__(idx)

    def __setitem__(self, idx: int, module: Module) -> None:
        keys = list(self._modules)
        key = keys[_index(idx, len(keys), "Sequential")]
        setattr(self, key, module)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(
                f"Sequential.append: {type(module).__name__} is not a Module"
            )
        self.add_module(str(len(self)), module)
        return self


class ModuleList(_IndexedModules):
    """A list of modules whose parameters the parent module sees.

    It has no ``forward``; index it and call the children yourself.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(
                f"ModuleList.append: {type(module).__name__} is not a Module"
            )
        self.add_module(str(len(self)), module)
        return self


class ModuleDict(Module):
    """An ordered dict of modules whose parameters the parent module sees."""

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def update(self, modules: Mapping[str, Module]) -> None:
        for k, m in modules.items():
            self[k] = m
