"""Local datasets for the network experiments (no downloads): digits, Gaussian, MNIST/CIFAR-10 from a folder."""
from .datasets import (Dataset, digits_binary, digits_multiclass, gaussian_binary, load_cifar10, load_mnist,
                       read_idx)

__all__ = ["Dataset", "digits_binary", "digits_multiclass", "gaussian_binary", "load_cifar10", "load_mnist",
           "read_idx"]
