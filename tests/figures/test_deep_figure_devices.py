"""Every deep figure runs on the device it is given (issue 15 item 5).

Each network figure's ``compute`` runs on a tiny override of its quick preset with an explicit ``device``. Without
a GPU the device is the fake accelerator of ``tests.deep.device_check`` (tensors report ``meta``, values live on the
CPU): the run must never mix a host tensor into a device operator, call ``.numpy()`` on a device tensor, draw a
random number on the device, or fall back to the automatic device choice; and the bulk of its operators must run on
the device. With ``ROBUSTBIAS_TEST_DEVICE=cuda`` the same runs go to the real GPU, where every tensor an operator
creates must live there (random draws and transfers excepted).
The checker itself is tested in ``tests/deep/test_device_check.py``.
"""
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import figures  # noqa: E402
from figures import registry  # noqa: E402
from tests.deep.device_check import audit_device, device_violations  # noqa: E402

ICL = dict(context_length=10, steps=4, eval_every=2, eval_size=8)
GROKKING = dict(n_bits=12, k=2, n_train=40, n_test=40, width=16, epochs=3, batch_size=16, sparsity_every=1)
TINY = {
    "grokking_accuracy": GROKKING,
    "grokking_neuron_norms": dict(GROKKING, shown_others=4),
    "grokking_sparsity": GROKKING,
    "icl_phases": ICL,
    "icl_attention": ICL,
    "icl_stumbling_block": dict(ICL, seeds=[0], unigram_extra=2),
    "icl_minimal_model": dict(ICL, batch_size=4, transformer_steps=4, transformer_eval_every=2),
    "icl_variance": dict(ICL, seeds=[0, 1]),
    "icl_ngrams": dict(ICL, width=8),
    "grokking_multi_seed": dict(GROKKING, seeds=[0, 1], ablation_weight_decays=[0.001], ablation_widths=[8],
                                ablation_seeds=[0], ablation_epochs=3),
    "ntk_features": dict(n_train=20, n_test=10, steps=2, indices=[0, 1, 2], partial=[1, 2],
                         kernels=[["ntk", 1], ["nngp", 1]]),
    "ntk_kernel_attacks": dict(n_train=20, n_test=10, widths=[8], eps=[0.1], steps=5, attack_steps=2),
    "ntk_spectral_bias": dict(n=8, frequencies=[1, 2], width=16, steps=4, record=2, sizes=[5], seeds=[0],
                              n_test=1787),
    "neural_collapse_attack": dict(widths=[16], per_class=3, epochs=2, log_every=2, attack_steps=1, eval_steps=1,
                                   targeted_steps=1, batch_size=30),
    "bnn_attacks": dict(eps=[0.0, 0.2], samples=2, score_samples=2, steps=2, epochs=1, n_test=10, hmc_pretrain=1,
                        hmc=dict(chains=2, num_samples=4, burn_in=2, leapfrog_steps=2, thin=1)),
    "kip_distillation": dict(n_train=100, n_test=10, per_class=1, kip_steps=1, batch_size=20, train_attack_steps=1,
                             width=8, net_steps=2, strong_steps=2, restarts=1, apgd_steps=2, queries=3),
    "ntk_dynamics": dict(n_train=20, n_probe=3, width=8, channels=[2, 2], epochs=1, batch_size=20, attack_steps=2,
                         seeds=[0], top_k=3),
    "margins_steepest_descent": dict(n_train=20, n_test=20, width=4, steps=12, points=4,
                                     algorithms=["gd", "sign", "cd", "adam"], kkt=True),
    "flavors_test_accuracy": dict(n_train=20, n_test=20, width=4, steps=12, points=4,
                                  algorithms=["gd", "sign", "cd", "adam"], pairs=[[0, 1]], reuse_dir=""),
    "robust_erm_nets": dict(n_train=20, width=8, epochs=2, eps=[0.0, 0.2], attack_steps=2, seeds=[0]),
    "neural_collapse_layers": dict(widths=[8, 8], per_class=3, epochs=1, attack_steps=1, eval_steps=1,
                                   check_steps=1, eps_sweep=[0.1], batch_size=30),
    "bnn_semantic_shift": dict(eps=[0.2], samples=2, score_samples=2, steps=2, epochs=1, n_test=10, hmc_pretrain=1,
                               hmc=dict(chains=2, num_samples=4, burn_in=2, leapfrog_steps=2, thin=1)),
    "ntk_eigenfeature_images": dict(n_train=20, n_test=10, top=2, bottom=2, profile=[0, 1, 19], steps=2,
                                    permutations=2),
}
GPU = os.environ.get("ROBUSTBIAS_TEST_DEVICE")          # "cuda" on a GPU machine; the fake accelerator otherwise


def _network_figures():
    return sorted(name for name in registry.available() if "torch" in getattr(registry.get(name), "REQUIRES", ()))


def _tiny_params(name, device):
    module = figures.get(name)
    for cached in (figures.get("grokking_accuracy"), figures.get("icl_phases")):
        cached._RUNS.clear()                      # run the training itself under the checker, not a memoised copy
    return module, dict(module.PRESETS["quick"], **TINY[name], device=device)


def test_every_network_figure_has_a_device_check():
    missing = [name for name in _network_figures() if name not in TINY]
    assert missing == [], f"add a tiny override for {missing} to TINY in {__file__}"


@pytest.mark.parametrize("name", sorted(registry.available()))
def test_no_preset_pins_a_device(name):
    # None resolves to cuda when available (deep.device.default_device); "cpu" would keep a GPU idle
    for preset in ("quick", "paper"):
        assert figures.get(name).PRESETS[preset].get("device") is None


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_figure_runs_every_operator_on_the_requested_device(name):
    if GPU:
        module, params = _tiny_params(name, GPU)
        _, bad, auto, created = device_violations(module.compute, GPU, params)
        assert created and auto == []
        assert bad == [], f"{len(bad)} tensors off {GPU}: {sorted({(c.op, c.device) for c in bad})}"
        return
    module, params = _tiny_params(name, "meta")
    audit = audit_device(module.compute, params)
    assert audit.violations == [], f"{name} on the fake accelerator:\n{audit.summary()}"
    # the work ran on the device: host operators are the CPU draws, transfers and model construction only
    assert audit.op_counts["device"] > 4 * audit.op_counts["host"], dict(audit.op_counts)


@pytest.mark.slow
def test_the_check_sees_a_figure_that_leaves_the_device_to_the_automatic_choice():
    # the same run with the preset's device=None must be caught (else the empty violation lists prove nothing)
    module, params = _tiny_params("ntk_spectral_bias", None)
    assert "auto" in audit_device(module.compute, params).kinds()
