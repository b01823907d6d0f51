"""Network experiments in PyTorch (optional dependency ``torch``).

Sub-packages import torch themselves; importing ``deep`` alone never imports torch.

* ``deep.icl_markov`` -- in-context learning of Markov chains and statistical induction heads (Edelman et al. 2024).
* ``deep.grokking``   -- grokking on sparse parity as competition of sparse and dense subnetworks (Merrill et al. 2023).
* ``deep.device``     -- the default device (cuda when available, cpu otherwise).
"""
