"""Gradient-checking exercises: starter files and a checker that says what is wrong.

Layer: exercises, a tool on top of the tensor engine and ``minigrad.autograd``.

The learner writes forward and backward of an ``mg.autograd.Function`` (or, for
the by-hand exercises, backprop in plain numpy) in a starter file, and the checker
runs gradcheck with its diagnosis (or compares with autograd) on seeded float64
inputs::

    python -m minigrad exercises list
    python -m minigrad exercises start sigmoid [DIR]
    python -m minigrad exercises check sigmoid.py

For the by-hand exercises (backprop_222, xor_numpy, mlp_batch,
softmax_classifier, mlp_relu) the checker compares every step of the learner's
backward pass with autograd (the error at the output, dW2, db2, the error at
the hidden layer, dW1, db1, the updates) and names the first wrong one in the
learner's own variable names, with what is wrong with it
(``minigrad.exercises.steps``).

From Python: ``minigrad.exercises.check_file("sigmoid.py").report``.
"""

from minigrad.exercises.catalog import EXERCISES, Exercise
from minigrad.exercises.checker import (
    CheckResult,
    ExerciseFileError,
    check_file,
    check_module,
)
from minigrad.exercises.starters_io import starter_source, write_starter

__all__ = [
    "EXERCISES",
    "CheckResult",
    "Exercise",
    "ExerciseFileError",
    "check_file",
    "check_module",
    "starter_source",
    "write_starter",
]
