"""Starter files of the exercises, one module per exercise.

Layer: exercises (package data). ``python -m minigrad exercises start NAME``
copies ``NAME.py`` from here; the learner fills in the bodies that raise
``NotImplementedError``. These modules are templates: nothing imports them.
"""
