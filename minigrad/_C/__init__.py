"""Compiled kernels (Cython wrappers over ``csrc/``). Knows nothing of autograd."""
