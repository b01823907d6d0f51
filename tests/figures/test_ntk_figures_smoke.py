"""The five NTK figures on tiny settings: registry contract, files written, saved data satisfying the identities
and ranges the figures rely on (transfer success in [0, 1] per width, KIP eps = 0 identity, kernel distance starting at
0, eigen-mass in [0, 1], spectral-bias ordering)."""
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


def test_dynamics_tiny(tmp_path):
    data = _make("ntk_dynamics", tmp_path, dict(n_train=64, n_probe=6, width=16, epochs=4, batch_size=32,
                                                attack_steps=2, top_k=3))
    assert set(data) == {"clean", "fgsm", "pgd"}
    for r in data.values():
        assert r["epochs"] == [0, 1, 2, 3, 4]
        d = np.asarray(r["dist_init"])
        assert d[0] == pytest.approx(0.0, abs=1e-12) and np.all(d >= -1e-12) and np.all(d <= 1.0)
        assert d[-1] > 0 and np.all(np.diff(d) > -0.05)               # nondecreasing up to small wiggles
        assert r["dist_final"][-1] == pytest.approx(0.0, abs=1e-12)
        assert r["radius"][0] == 0.0 and r["radius"][-1] == pytest.approx(1.0)
        assert r["radius_top"][-1] == pytest.approx(1.0)
        assert all(0.0 <= m <= 1.0 + 1e-12 for m in r["mass"])
        assert all(-1.0 <= a <= 1.0 for a in r["alignment"])
        assert r["settling_epoch"] in r["epochs"]


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


def test_kip_tiny(tmp_path):
    data = _make("kip_distillation", tmp_path, dict(n_train=40, n_test=20, support=6, kip_steps=3, batch_size=20,
                                                    train_attack_steps=2, width=32, net_steps=20, strong_steps=3,
                                                    restarts=1, queries=10))
    assert data["sets"] == ["random", "kip", "robust_kip", "full"]
    for model in ("krr", "net"):
        for s in data["sets"]:
            accs = data["results"][model][s]
            assert list(accs) == data["attacks"] and all(0.0 <= v <= 1.0 for v in accs.values())
            assert accs["pgd_strong"] <= accs["clean"] + 1e-12
    for obj in data["objective"].values():
        assert obj["robust_eps0"] == obj["clean"]            # adversarial KIP at eps = 0 is KIP, exactly
        assert obj["robust"] >= obj["clean"] - 1e-12           # the inner max keeps the best iterate (Delta = 0 too)
    assert len(data["loss_trace"]["kip"]) == 3 and len(data["loss_trace"]["robust_kip"]) == 3
    assert np.asarray(data["images"]["kip"]).min() >= 0.0 and np.asarray(data["images"]["kip"]).max() <= 1.0
