"""Finite-d simulations of robust regularized ERM, the twin of :mod:`asymptotics` (depends on it, not vice versa).

Main entry points: :func:`erm` (one point over seeds, same arguments as ``asymptotics.solve`` plus ``d``, ``seeds``,
``n_test``), :func:`compare` (theory vs simulation with a 1/d extrapolation); building blocks in
:mod:`simulate.data` (Gaussian and sparse data models), :mod:`simulate.streams` (SeedSequence streams),
:mod:`simulate.objective` (the robust objective from the asymptotics objects), :mod:`simulate.solvers`
(L-BFGS / FISTA with certificates), :mod:`simulate.reference` (cvxpy, named solver),
:mod:`simulate.perturbations` (worst-case perturbations). Guide: ``docs/simulate.md``.
"""
from .compare import Comparison, Extrapolation, compare
from .experiment import OBSERVABLES, ErmResult, erm
from .objective import RobustObjective
from .solvers import SOLVERS, Solution, solve

__all__ = ["Comparison", "ErmResult", "Extrapolation", "OBSERVABLES", "RobustObjective", "SOLVERS", "Solution",
           "compare", "erm", "solve"]
