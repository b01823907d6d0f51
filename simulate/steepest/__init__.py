"""Steepest-descent dynamics on separable data (linear models, diagonal networks), numba-compiled, with a numpy twin.

:func:`steepest_descent` (linear), :func:`diagonal_descent` (``u^D - v^D``), :func:`reference_descent` (plain numpy
loop, for tests and benchmarks), :func:`checkpoint_steps`. Guide and numerics: ``docs/margins.md``.
"""
from ._kernels import STATS
from .dynamics import SteepestRun, checkpoint_steps, diagonal_descent, steepest_descent
from .reference import reference_descent

__all__ = ["STATS", "SteepestRun", "checkpoint_steps", "diagonal_descent", "reference_descent", "steepest_descent"]
