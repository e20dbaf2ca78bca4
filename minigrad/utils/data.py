"""``minigrad.utils.data`` is :mod:`minigrad.data` under PyTorch's name
(``torch.utils.data``), so ``from torch.utils.data import DataLoader`` becomes
``from minigrad.utils.data import DataLoader``."""

from minigrad.data import *  # noqa: F403
from minigrad.data import __all__  # noqa: F401
