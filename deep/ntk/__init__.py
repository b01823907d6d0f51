"""Neural tangent kernels: analytic NNGP/NTK of deep ReLU nets, empirical NTK (torch.func), kernel regression and
its eigen-features, kernel attacks, kernel dynamics, (adversarial) KIP, spectral bias. Conventions: docs/deep_ntk.md."""
from .analytic import ReLUKernelSpec, kernel_function, relu_kernels, relu_nngp, relu_nngp_diagonal, relu_ntk
from .dynamics import (distance_matrix, eigen_mass, kernel_distance, kernel_similarity, kernel_target_alignment,
                       polar_dynamics, spectral_truncation)
from .empirical import MODES, empirical_ntk, per_sample_gradient_ntk
from .feature_images import feature_input_gradients, roughness, span_fraction, total_variation
from .kip import (KIPResult, adversarial_kip_loss, adversarial_targets, distill, kip_loss, kip_predict,
                  per_target_loss)
from .model import NTKMLP
from .regression import FeaturePredictor, KernelMachine, feature_metrics, majority_rate, predictions_accuracy
from .spectral import circle_inputs, learning_curve, spectral_bias_circle
from .training import ntk_mse_dynamics, track_ntk, train_mse

__all__ = ["FeaturePredictor", "KIPResult", "KernelMachine", "MODES", "NTKMLP", "ReLUKernelSpec",
           "adversarial_kip_loss", "adversarial_targets", "circle_inputs", "distance_matrix", "distill",
           "eigen_mass", "empirical_ntk", "feature_input_gradients", "feature_metrics", "kernel_distance",
           "kernel_function", "kernel_similarity", "kernel_target_alignment", "kip_loss", "kip_predict",
           "learning_curve", "majority_rate", "ntk_mse_dynamics", "per_sample_gradient_ntk", "per_target_loss",
           "polar_dynamics", "predictions_accuracy", "relu_kernels", "relu_nngp", "relu_nngp_diagonal", "relu_ntk",
           "roughness", "span_fraction", "spectral_bias_circle", "spectral_truncation", "total_variation",
           "track_ntk", "train_mse"]
