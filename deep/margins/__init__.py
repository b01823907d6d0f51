"""Margins of homogeneous networks: normalized and smoothed margins of every flavor, alignment, KKT residuals."""
from .kkt import KKTResidual, kkt_residual_network, per_sample_gradients
from .margins import (alignment, inverse_loss_of_log, log_loss, loss_gradient, margin_report, model_order,
                      normalized_margin, output_margins, pair_margins, parameter_norm, parameters_of,
                      smoothed_margin)
from .tracker import MarginTracker, log_schedule

__all__ = ["KKTResidual", "MarginTracker", "alignment", "inverse_loss_of_log", "kkt_residual_network", "log_loss",
           "log_schedule", "loss_gradient", "margin_report", "model_order", "normalized_margin", "output_margins",
           "pair_margins", "parameter_norm", "parameters_of", "per_sample_gradients", "smoothed_margin"]
