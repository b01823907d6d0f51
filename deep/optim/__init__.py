"""Steepest-descent optimizers (l2, linf, l1, lp, spectral) as ``torch.optim.Optimizer`` subclasses."""
from .norms import Geometry, as_matrix, flat, parse_norm
from .steepest import (OPTIMIZERS, GradientDescent, GreedyCD, SignGD, SpectralDescent, SteepestDescent,
                       make_optimizer)

__all__ = ["Geometry", "GradientDescent", "GreedyCD", "OPTIMIZERS", "SignGD", "SpectralDescent", "SteepestDescent",
           "as_matrix", "flat", "make_optimizer", "parse_norm"]
