"""Exact high-dimensional asymptotics of regularized adversarial ERM (theory; imports no other robustbias package).

Main entry points: :func:`solve` (one point), :func:`sweep` (continuation), :func:`optimal_lambda`,
:func:`optimal_reg_order`; problem specs :class:`Attack`, :class:`Regularizer`, losses in :data:`LOSSES`,
:class:`DataModel`; error formulas in :mod:`asymptotics.metrics`.
"""
from .data import DataModel
from .errors import ConvergenceError, InvalidParameter
from .fixed_point import FixedPoint, solve
from .geometry import Attack, parse_attack
from .grid import GridResult, grid_sweep
from .engine import map_points
from .cache import seed_sequence
from .losses import LOSSES, Loss, parse_loss
from .problem import Problem
from .rademacher import dimension_factor, empirical_rademacher, rademacher_bound, robust_margin_bound
from .regularizers import Regularizer, parse_regularizer
from .sweeps import OptimalLambda, OptimalRegOrder, SweepResult, optimal_lambda, optimal_reg_order, sweep
from .margins import (MaxMargin, Norm, elastic_net_max_margin, max_margin, normalized_margin, parse_norm,
                      robust_margin, robust_separability_radius)
from .verification import Verification, verify_fixed_point
from .stationarity import KKTResidual, alignment, fenchel_young_gap, flow_alignment, kkt_residual, stationarity_gap
from .sensitivity import Sensitivities, SingularPoint, sensitivities

__all__ = ["Attack", "ConvergenceError", "DataModel", "FixedPoint", "InvalidParameter", "LOSSES", "Loss", "Problem",
           "Regularizer", "parse_attack", "parse_loss", "parse_regularizer", "solve", "sweep", "SweepResult",
           "optimal_lambda", "OptimalLambda", "optimal_reg_order", "OptimalRegOrder", "grid_sweep", "GridResult",
           "map_points", "seed_sequence", "dimension_factor", "empirical_rademacher", "rademacher_bound",
           "robust_margin_bound"]
__all__ += ["MaxMargin", "Norm", "elastic_net_max_margin", "max_margin", "normalized_margin", "parse_norm",
            "robust_margin", "robust_separability_radius", "KKTResidual", "alignment", "fenchel_young_gap",
            "flow_alignment", "kkt_residual", "stationarity_gap", "Verification", "verify_fixed_point"]
__all__ += ["Sensitivities", "SingularPoint", "sensitivities"]
