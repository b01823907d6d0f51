"""Neural collapse under attack (Su, Zhang, Tsilivis, Kempe 2024): NC1-NC4 metrics, per-layer features via forward
hooks, the simplex "leap" measure, the nearest-class-centre classifier and training regimes (ST / PGD-AT / TRADES)
with metrics logged over epochs. See ``docs/deep_collapse_bayes.md``."""
from .metrics import (CollapseMetrics, class_means, collapse_metrics, collapse_metrics_loop, leap, ncc_accuracy,
                      ncc_predict, simplex_etf)
from .features import FeatureRecorder, layer_features
from .layers import layer_collapse, softmax_probe
from .regimes import REGIMES, PERTURBATIONS, balanced_subset, perturb, collapse_report, train_with_collapse

__all__ = ["CollapseMetrics", "FeatureRecorder", "PERTURBATIONS", "REGIMES", "balanced_subset", "class_means",
           "collapse_metrics", "collapse_metrics_loop", "collapse_report", "layer_collapse", "layer_features", "leap",
           "ncc_accuracy", "ncc_predict", "perturb", "simplex_etf", "softmax_probe", "train_with_collapse"]
