"""kip_distillation and ntk_dynamics: tiny runs checking the data identities the figures rely on (fast), and the
quick presets' expected claims (slow)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import figures  # noqa: E402
from figures.claims import check  # noqa: E402


def _make(name, tmp_path, overrides):
    out = figures.make(name, preset="quick", outdir=tmp_path, overrides=overrides)
    assert out.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return json.loads(out.data.read_text())


def test_kip_tiny_identities(tmp_path):
    data = _make("kip_distillation", tmp_path, dict(n_train=200, n_test=20, per_class=2, kip_steps=2, batch_size=20,
                                                    train_attack_steps=2, width=16, net_steps=5, strong_steps=3,
                                                    restarts=2, apgd_steps=3, queries=5))
    assert data["sets"] == ["random", "kip", "robust_kip", "full"] and data["support_size"] == 20
    for kind in ("krr", "net"):
        for s in data["sets"]:
            acc = data["results"][kind][s]
            assert all(0.0 <= v <= 1.0 for v in acc.values())
            # every attack is scored at most the clean accuracy, and the worst case is below every attack
            assert max(acc.values()) == acc["clean"] and acc["worst"] == min(acc.values())
            assert 0.0 <= data["masking"][kind][s]["any"] <= 1.0
    for obj in data["objective"].values():
        assert obj["robust_eps0"] == obj["clean"]            # adversarial KIP at eps = 0 is KIP, exactly
        assert obj["robust"] >= obj["clean"] - 1e-12           # the inner max keeps the best iterate (Delta = 0 too)
    assert len(data["loss_trace"]["robust_kip"]) == 2
    assert 0.0 <= np.asarray(data["images"]["kip"]).min() and np.asarray(data["images"]["kip"]).max() <= 1.0


def test_ntk_dynamics_tiny_identities(tmp_path):
    data = _make("ntk_dynamics", tmp_path, dict(n_train=40, n_probe=3, width=8, channels=[2, 2], epochs=2,
                                                batch_size=20, attack_steps=2, seeds=[0, 1], top_k=3))
    assert set(data) == {"mlp", "cnn"}
    for arch in data.values():
        assert set(arch) == {"clean", "fgsm", "pgd"}
        for m in arch.values():
            assert len(m["runs"]) == 2 and m["settling_std"] >= 0.0 and "heatmap" in m["runs"][0]
            for r in m["runs"]:
                assert r["epochs"] == [0, 1, 2] and r["settling_epoch"] in r["epochs"]
                assert r["dist_init"][0] == pytest.approx(0.0, abs=1e-12)
                assert r["dist_final"][-1] == pytest.approx(0.0, abs=1e-12)
                for space in ("full", "top", "bottom"):
                    assert r[f"radius_{space}"][-1] == pytest.approx(1.0)
                assert all(0.0 <= a <= b <= 1.0 + 1e-12 for a, b in zip(r["mass"]["10"], r["mass"]["20"]))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kip_distillation", "ntk_dynamics"])
def test_quick_preset_expected_claims_hold(name, tmp_path):
    rows = check(name, preset="quick", outdir=tmp_path)
    assert rows and all(r.ok for r in rows), [(r.claim, r.value, r.error) for r in rows if not r.ok]
