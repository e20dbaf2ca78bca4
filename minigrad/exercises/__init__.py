"""Gradient-checking exercises: starter files and a checker that says what is wrong.

Layer: exercises, a tool on top of the tensor engine and ``minigrad.autograd``.

The learner writes forward and backward of an ``mg.autograd.Function`` (or, for
the by-hand exercises, backprop in plain numpy) in a starter file, and the checker
runs gradcheck with its diagnosis (or compares with autograd) on seeded float64
inputs::

    python -m minigrad exercises list
    python -m minigrad exercises start sigmoid [DIR]
    python -m minigrad exercises check sigmoid.py

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
