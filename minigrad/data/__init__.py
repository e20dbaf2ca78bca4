"""Datasets and mini-batch loading. Layer: data.

Imports ``minigrad.tensor`` and ``minigrad.random`` (never ``nn``). The built-in
datasets are in :mod:`minigrad.data.datasets`; the IDX (MNIST) format in
:mod:`minigrad.data.idx`.
"""

from minigrad.data import datasets
from minigrad.data.dataloader import DataLoader, default_collate
from minigrad.data.dataset import (
    ConcatDataset,
    Dataset,
    Subset,
    TensorDataset,
    random_split,
)
from minigrad.data.idx import read_idx, write_idx

__all__ = [
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "datasets",
    "default_collate",
    "random_split",
    "read_idx",
    "write_idx",
]
