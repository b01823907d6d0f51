"""bnn_semantic_shift: the class split, the AUROC against an independent implementation, the OOD attack against a
closed-form optimum, the claims' criteria on crafted data, and the figure itself (slow)."""
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from deep.bayes import DeterministicPosterior, auroc, ood_attack, predictive_entropy  # noqa: E402
from figures import registry  # noqa: E402
from figures.bnn_semantic_shift import split_classes  # noqa: E402
from figures.claims import check, evaluate  # noqa: E402

NAME = "bnn_semantic_shift"


def test_split_keeps_the_in_classes_relabelled_in_order_and_the_rest_out():
    X = torch.arange(10, dtype=torch.float64)[:, None].repeat(1, 2)
    y = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    X_in, y_in, X_out = split_classes(X, y, [7, 2])
    assert X_in[:, 0].tolist() == [2.0, 7.0] and y_in.tolist() == [1, 0]       # 7 -> 0, 2 -> 1
    assert X_out[:, 0].tolist() == [0.0, 1.0, 3.0, 4.0, 5.0, 6.0, 8.0, 9.0]


def test_auroc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    g = np.random.default_rng(0)
    pos, neg = g.integers(0, 6, 40).astype(float), g.integers(0, 4, 55).astype(float)   # many ties
    expected = roc_auc_score(np.r_[np.ones(40), np.zeros(55)], np.r_[pos, neg])
    assert auroc(pos, neg) == pytest.approx(expected, abs=1e-12)
    assert auroc(neg, pos) == pytest.approx(1 - expected, abs=1e-12)


class _Linear(torch.nn.Module):
    """Binary logits [0, a.x]: the entropy falls with |a.x|."""

    def __init__(self, a):
        super().__init__()
        self.a = a

    def forward(self, x):
        z = x @ self.a
        return torch.stack([torch.zeros_like(z), z], 1)


def test_ood_attack_reaches_the_closed_form_minimum_entropy_of_a_linear_model():
    g = torch.Generator().manual_seed(0)
    d, eps = 12, 0.1
    a = torch.randn(d, generator=g, dtype=torch.float64)
    x = (0.5 + 0.05 * torch.randn(30, d, generator=g, dtype=torch.float64)).clamp(0, 1)
    x = x + torch.sign(a)[None] * torch.sign(x @ a)[:, None] / d          # keep |a.x| clear of 0
    x = x.clamp(0, 1)
    post = DeterministicPosterior(_Linear(a))
    xa = ood_attack(post, x, eps, measure="entropy", samples=1, steps=100, generator=g)
    # the entropy-minimising point of the ball-box pushes every pixel by eps in the direction that grows |a.x|
    best = (x + eps * torch.sign(a)[None] * torch.sign(x @ a)[:, None]).clamp(0, 1)
    h = lambda z: predictive_entropy(post.log_probs(z))  # noqa: E731
    assert float((xa - x).abs().max()) <= eps + 1e-12 and float(xa.min()) >= 0 and float(xa.max()) <= 1
    assert torch.allclose(h(xa), h(best), atol=1e-6)       # 100 sign steps of 2.5 eps / 100 reach the corner
    assert bool((h(xa) < h(x)).all())


def _data(auroc_clean, auroc_after, score_after_ratio, rhat=1.05):
    keys = ["deterministic/entropy", "hmc/entropy", "hmc/mi"]
    return {"auroc": {k: auroc_clean for k in keys}, "auroc_after": {k: [0.9, auroc_after] for k in keys},
            "score_id": {k: 1.0 for k in keys}, "score_ood_after": {k: [1.0, score_after_ratio] for k in keys},
            "hmc": {"rhat_pred_max": rhat}}


def _verdicts(data):
    return {r.claim: r.holds for r in evaluate(NAME, registry.get(NAME).CLAIMS, data, {}, "quick")}


def test_claims_hold_when_detection_works_and_the_attack_defeats_it_and_fail_otherwise():
    assert all(_verdicts(_data(0.9, 0.2, 0.5)).values())
    assert not any(_verdicts(_data(0.6, 0.7, 1.5, rhat=1.3)).values())


TINY = dict(eps=[0.2], samples=2, score_samples=2, steps=2, epochs=1, n_test=20, hmc_pretrain=1,
            hmc=dict(chains=2, num_samples=4, burn_in=2, leapfrog_steps=2, thin=1))


@pytest.mark.slow
def test_tiny_figure_writes_png_and_data_with_claims_measurable(tmp_path):
    out = registry.make(NAME, "quick", tmp_path, overrides=dict(TINY, device="cpu"))
    data = json.loads(out.data.read_text())
    assert out.png.exists() and data["n_id"] == data["n_ood"] == 20 and data["classes"] == 5
    assert "deterministic/mi" not in data["auroc"] and "hmc/mi" in data["auroc"]
    assert all(0 <= v <= 1 for v in data["auroc"].values())
    assert all(len(v) == 1 and 0 <= v[0] <= 1 for v in data["auroc_after"].values())
    rows = evaluate(NAME, registry.get(NAME).CLAIMS, data, dict(registry.get(NAME).PRESETS["quick"], **TINY),
                    "quick")
    assert [r.error for r in rows] == [""] * len(rows)
    assert all(math.isfinite(v) for v in data["score_id"].values())


@pytest.mark.slow
@pytest.mark.extended
def test_quick_preset_expected_claims_hold(tmp_path):
    rows = check(NAME, "quick", tmp_path)
    failed = [(r.claim, r.value, r.error) for r in rows if not r.ok]
    assert rows and failed == []
