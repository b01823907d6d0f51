"""Bayesian neural networks under attack (Feng, Rudner, Tsilivis, Kempe 2024): MC dropout, mean-field VI, deep
ensembles, full-batch HMC; posterior predictive mean and uncertainty; EOT-PGD on the predictive mean, attacks on
uncertainty-based adversarial-example detection and on semantic-shift detection. See ``docs/deep_collapse_bayes.md``."""
from .models import BayesLinear, BayesMLP, DropoutMLP
from .posterior import (DeterministicPosterior, EnsemblePosterior, ParameterSamplesPosterior, PosteriorPredictive,
                        StochasticPosterior, draw_indices, fit, train_ensemble)
from .hmc import HMCResult, bnn_hmc, hmc, predictive_rhat, split_rhat
from .uncertainty import (UNCERTAINTIES, auroc, expected_entropy, log_predictive_mean, mutual_information,
                          predictive_entropy, uncertainty)
from .attacks import attack_predictive, detection_auroc, ood_attack, uncertainty_attack

__all__ = ["BayesLinear", "BayesMLP", "DeterministicPosterior", "DropoutMLP", "EnsemblePosterior", "HMCResult",
           "ParameterSamplesPosterior", "PosteriorPredictive", "StochasticPosterior", "UNCERTAINTIES",
           "attack_predictive", "auroc", "bnn_hmc", "detection_auroc", "draw_indices", "expected_entropy", "fit",
           "hmc", "log_predictive_mean", "mutual_information", "ood_attack", "predictive_entropy", "predictive_rhat",
           "split_rhat", "train_ensemble", "uncertainty", "uncertainty_attack"]
