"""Every deep figure in this group runs on the device it is given (issue 15 item 5).

Each figure's compute runs on a tiny override of its quick preset with an explicit ``device`` under
``tests.deep.device_check``: every tensor it creates must live on that device (random draws and transfers
excepted, see the checker), and it must never fall back to the automatic device choice. Without a GPU the device is
"cpu"; with one, ``ROBUSTBIAS_TEST_DEVICE=cuda`` runs the same test there.
The checker itself is tested to flag off-device tensors in ``tests/deep/test_device_check.py``.
"""
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import figures  # noqa: E402
from tests.deep.device_check import device_violations  # noqa: E402

TINY = {
    "grokking_accuracy": dict(n_bits=12, k=2, n_train=40, n_test=40, width=16, epochs=3, batch_size=16,
                              sparsity_every=1),
    "grokking_neuron_norms": dict(n_bits=12, k=2, n_train=40, n_test=40, width=16, epochs=3, batch_size=16,
                                  sparsity_every=1, shown_others=4),
    "grokking_sparsity": dict(n_bits=12, k=2, n_train=40, n_test=40, width=16, epochs=3, batch_size=16,
                              sparsity_every=1),
    "icl_phases": dict(context_length=10, steps=4, eval_every=2, eval_size=8),
    "icl_attention": dict(context_length=10, steps=4, eval_every=2, eval_size=8),
    "icl_stumbling_block": dict(context_length=10, steps=4, eval_every=2, eval_size=8, seeds=[0], unigram_extra=2),
    "ntk_features": dict(n_train=20, n_test=10, steps=2, indices=[0, 1, 2], partial=[1, 2],
                         kernels=[["ntk", 1], ["nngp", 1]]),
    "ntk_kernel_attacks": dict(n_train=20, n_test=10, widths=[8], eps=[0.1], steps=5, attack_steps=2),
    "ntk_spectral_bias": dict(n=8, frequencies=[1, 2], width=16, steps=4, record=2, sizes=[5], seeds=[0],
                              n_test=1787),
}
DEVICE = os.environ.get("ROBUSTBIAS_TEST_DEVICE", "cpu")


@pytest.mark.parametrize("name", sorted(TINY))
def test_every_deep_preset_has_a_device_defaulting_to_auto(name):
    # None resolves to cuda when available (deep.device.default_device): no preset pins the CPU
    for preset in ("quick", "paper"):
        assert figures.get(name).PRESETS[preset]["device"] is None


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_figure_creates_every_tensor_on_the_requested_device(name):
    module = figures.get(name)
    for cached in (figures.get("grokking_accuracy"), figures.get("icl_phases")):
        cached._RUNS.clear()                      # run the training itself under the checker, not a memoised copy
    params = dict(module.PRESETS["quick"], **TINY[name], device=DEVICE)
    _, bad, auto, created = device_violations(module.compute, DEVICE, params)
    assert created, "nothing was recorded: the checker did not see the run"
    assert bad == [], f"{len(bad)} tensors off {DEVICE}: {sorted({(c.op, c.device) for c in bad})}"
    assert auto == [], "the figure fell back to the automatic device choice"


def test_the_check_sees_a_figure_that_leaves_the_device_to_the_automatic_choice():
    # the same run with the preset's device=None must be caught by the spy (else auto == [] above proves nothing)
    module = figures.get("ntk_spectral_bias")
    params = dict(module.PRESETS["quick"], **TINY["ntk_spectral_bias"])
    _, _, auto, _ = device_violations(module.compute, DEVICE, params)
    assert auto
