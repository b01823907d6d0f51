"""Attacks on networks (FGSM, PGD, APGD-style, Square-style random search), linear closed forms, adversarial
training (PGD-AT, TRADES). Geometry names follow ``asymptotics.parse_attack``: "linf", "l2", "l1"."""
from .evaluation import ATTACKS, accuracy, robust_accuracy
from .gradient import apgd, apgd_checkpoints, fgsm, per_sample_loss, pgd, pgd_step_sizes
from .search import random_search
from .linear import linear_robust_margin, linear_worst_case
from .threat import (NORMS, ascent_direction, input_norm, parse_threat, project, project_l1_ball, project_l2_box,
                     random_point)
from .training import METHODS, TrainingHistory, adversarial_training, kl_per_sample, trades_attack

__all__ = ["ATTACKS", "METHODS", "NORMS", "TrainingHistory", "accuracy", "adversarial_training", "apgd",
           "apgd_checkpoints", "ascent_direction", "fgsm", "input_norm", "kl_per_sample", "linear_robust_margin",
           "linear_worst_case", "parse_threat", "per_sample_loss", "pgd", "pgd_step_sizes", "project",
           "project_l1_ball", "project_l2_box", "random_point", "random_search", "robust_accuracy", "trades_attack"]
