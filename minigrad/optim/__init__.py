"""Optimizers and learning-rate schedules. Layer: optim.

Imports ``minigrad.tensor`` and ``minigrad.autograd`` (never ``nn``): an optimizer
works on any leaf Tensors, whether or not they belong to a Module.
"""

from minigrad.optim import lr_scheduler
from minigrad.optim.adagrad import Adagrad
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.rmsprop import RMSprop
from minigrad.optim.sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
