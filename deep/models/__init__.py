"""Bias-free homogeneous networks (MLP, CNN, diagonal linear nets) and a numeric homogeneity check."""
from .homogeneity import HomogeneityCheck, check_homogeneity, homogeneity_order, scaled_output
from .homogeneous import DiagonalNet, HomogeneousCNN, HomogeneousMLP

__all__ = ["DiagonalNet", "HomogeneityCheck", "HomogeneousCNN", "HomogeneousMLP", "check_homogeneity",
           "homogeneity_order", "scaled_output"]
