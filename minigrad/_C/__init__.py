"""Compiled code. The kernels (Cython wrappers over ``csrc/``) know nothing of
autograd; ``_core`` is the exception: the autograd hot path (Note [Compiled core]
in ``_core.pyx``)."""
