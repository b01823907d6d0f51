"""The five NTK figures on tiny settings: registry contract, files written, saved data satisfying the identities
and ranges the figures rely on (transfer success in [0, 1] per width, spectral-bias ordering); kip_distillation and
ntk_dynamics have their own tiny runs in test_kip_ntk_dynamics_figures.py."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import figures  # noqa: E402

NAMES = ["ntk_kernel_attacks", "ntk_features", "ntk_dynamics", "ntk_spectral_bias", "kip_distillation"]


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("name", NAMES)
def test_module_follows_the_registry_contract(name):
    module = figures.get(name)
    assert module.NAME == name and module.REQUIRES == ("torch",)
    assert set(module.PRESETS) == {"quick", "paper"} and set(module.PRESETS["quick"]) == set(module.PRESETS["paper"])
    assert name in figures.registry.available()


def _make(name, tmp_path, overrides):
    out = figures.make(name, preset="quick", outdir=tmp_path, overrides=overrides)
    assert out.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(out.params.read_text())
    return json.loads(out.data.read_text())


def test_kernel_attacks_tiny(tmp_path):
    widths = [16, 256]
    data = _make("ntk_kernel_attacks", tmp_path,
                 dict(n_train=40, n_test=40, widths=widths, eps=[0.1, 0.2], steps=50, attack_steps=3))
    assert data["widths"] == widths and len(data["rows"]) == 2
    for row in data["rows"]:
        for key in ("net_clean", "net_whitebox", "net_transfer", "transfer_success", "agreement",
                    "function_distance"):
            assert len(row[key]) == len(widths)
        for key in ("net_clean", "net_whitebox", "net_transfer", "agreement"):
            assert all(0.0 <= v <= 1.0 for v in row[key])
        assert all(np.isnan(v) or 0.0 <= v <= 1.0 for v in row["transfer_success"])
        assert 0.0 <= row["kernel_robust"] <= row["kernel_clean"] <= 1.0
        # the centred net approaches its kernel limit as it widens
        assert row["function_distance"][1] < row["function_distance"][0]


def test_features_tiny(tmp_path):
    data = _make("ntk_features", tmp_path, dict(n_train=40, n_test=30, steps=3, indices=[0, 1, 5, 39],
                                                partial=[1, 5, 40], kernels=[["ntk", 1], ["nngp", 1]]))
    assert len(data["kernels"]) == 2 and len(data["consistency"]) == 10
    assert all(0.0 <= c <= 1.0 + 1e-12 for c in data["consistency"])
    for k in data["kernels"]:
        m = k["metrics"]
        assert all(0.0 <= v <= 1.0 for v in m["usefulness"] + m["robustness"])
        assert k["partial"]["k"] == [1, 5, 40]
        assert all(0.0 <= v <= 1.0 for v in k["partial"]["robust"] + k["partial"]["clean"])


def test_spectral_bias_tiny(tmp_path):
    data = _make("ntk_spectral_bias", tmp_path, dict(n=16, frequencies=[1, 4], width=128, steps=100, record=20,
                                                     sizes=[10, 40], seeds=[0], n_test=100))
    sb = data["spectral"]
    theory = np.asarray(sb["theory"])                                  # (modes, times), relative residuals
    assert theory.shape == (2, len(sb["steps"])) and np.allclose(theory[:, 0], 1.0)
    assert np.all(np.diff(theory, axis=1) <= 1e-12)                    # every mode decays monotonically
    # spectral bias: the low-frequency mode (larger eigenvalue) is learned first
    assert sb["eigenvalues"][0] > sb["eigenvalues"][1] and theory[0, -1] < theory[1, -1]
    for kind in ("ntk", "nngp"):
        err = np.asarray(data["curves"][kind]["error_mean"])
        assert err.shape == (2,) and np.all((0 <= err) & (err <= 1)) and err[1] <= err[0] + 0.1
