"""Grokking on (n, k)-sparse parity as competition of a sparse and a dense subnetwork (Merrill et al. 2023).

Modules: ``parity`` (data), ``model`` (one-hidden-layer ReLU MLP), ``training`` (hinge loss, SGD with weight decay,
per-epoch curves and snapshots), ``subnetworks`` (neuron norms, active subnetwork, effective sparsity,
faithfulness), ``handbuilt`` (the DNF, Prop. 2 and Prop. 3 parity networks).
"""
