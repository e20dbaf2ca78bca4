"""``minigrad.cuda``: there is no GPU backend; these answer as PyTorch does on a
machine without CUDA, so ``torch.cuda.is_available()`` checks run unchanged."""

from __future__ import annotations

__all__ = ["device_count", "is_available", "manual_seed", "manual_seed_all"]


def is_available() -> bool:
    """False: minigrad computes on the CPU only."""
    return False


def device_count() -> int:
    """0: no CUDA devices."""
    return 0


def manual_seed(seed: int) -> None:
    """Does nothing (there is no CUDA generator), as in PyTorch without CUDA."""


def manual_seed_all(seed: int) -> None:
    """Does nothing (there is no CUDA generator), as in PyTorch without CUDA."""
