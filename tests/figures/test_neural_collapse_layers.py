"""neural_collapse_layers: per-layer collapse of a hand-built net against values computed by hand, the softmax
probe's optimality and self-duality, the claims' criteria on crafted data, and the figure itself (slow)."""
import json
import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from deep.collapse import collapse_metrics, layer_collapse, simplex_etf, softmax_probe  # noqa: E402
from deep.models import HomogeneousMLP  # noqa: E402
from figures import registry  # noqa: E402
from figures.claims import check, evaluate  # noqa: E402

NAME = "neural_collapse_layers"
C = 4


def _identity_net():
    """x -> relu(x) -> relu(x) -> (I - 11^T/C) x: on one-hot inputs every hidden layer holds e_y exactly."""
    net = HomogeneousMLP(C, [C, C], C, dtype=torch.float64)
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.eye(C))
        net.layers[1].weight.copy_(torch.eye(C))
        net.layers[2].weight.copy_(torch.eye(C) - 1.0 / C)
    return net


def _one_hot_data(per_class=3):
    y = torch.arange(C).repeat(per_class)
    return torch.eye(C, dtype=torch.float64)[y], y


def test_hand_built_net_is_perfectly_collapsed_at_every_layer_and_unmoved_by_a_null_perturbation():
    x, y = _one_hot_data()
    rep = layer_collapse(_identity_net(), x, y, x.clone(), num_classes=C, probe_weight_decay=1e-2)
    assert len(rep["clean"]) == 2 and rep["nc3_classifier"] == ["probe", "head"]
    for clean, pert in zip(rep["clean"], rep["perturbed"]):
        for m in (clean, pert):
            for name in ("nc1", "nc2_norm", "nc2_angle", "nc3", "nc4"):
                # exact identities up to rounding; the probe's NC3 up to L-BFGS's tolerance (1e-10 gradient)
                assert abs(m[name]) <= 1e-8, name
    assert rep["ncc_clean"] == [1.0, 1.0] and rep["ncc_perturbed"] == [1.0, 1.0]
    assert max(rep["angle"]) <= 1e-5                       # arccos near 1 loses half the digits
    assert rep["accuracy_clean"] == rep["accuracy_perturbed"] == 1.0


def test_shifting_every_point_to_the_next_vertex_is_measured_exactly_at_every_layer():
    # perturbed input of class c = clean input of class c+1: perturbed features sit on the next vertex
    x, y = _one_hot_data()
    xp = torch.eye(C, dtype=torch.float64)[(y + 1) % C]
    rep = layer_collapse(_identity_net(), x, y, xp, num_classes=C, probe_weight_decay=1e-2)
    simplex_angle = math.degrees(math.acos(-1.0 / (C - 1)))     # angle between two centred ETF vertices
    for pert, angle, ncc in zip(rep["perturbed"], rep["angle"], rep["ncc_perturbed"]):
        assert abs(pert["nc1"]) <= 1e-10 and abs(pert["nc2_angle"]) <= 1e-10   # still a simplex, relabelled
        assert pert["nc4"] == 1.0            # NCC of the perturbed means says c, the net says c + 1
        assert angle == pytest.approx(simplex_angle, abs=1e-9)
        assert ncc == 0.0
    assert rep["accuracy_perturbed"] == 0.0


def test_softmax_probe_is_a_stationary_point_of_its_objective():
    g = torch.Generator().manual_seed(0)
    H = torch.rand(60, 7, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (60,), generator=g)
    wd, s = 1e-2, 0.2
    W = softmax_probe(H, y, 3, weight_decay=wd, label_smoothing=s).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(H @ W.T, y, label_smoothing=s) + 0.5 * wd * (W * W).sum()
    (grad,) = torch.autograd.grad(loss, W)
    assert float(grad.abs().max()) <= 1e-7               # strictly convex: stationary = the minimiser


def test_probe_nc3_is_zero_on_a_simplex_and_not_on_unequal_class_means():
    M = simplex_etf(C, 9, radius=2.0, generator=torch.Generator().manual_seed(1))
    y = torch.arange(C).repeat(5)
    assert collapse_metrics(M[y], y, weights=softmax_probe(M[y], y, C)).nc3 <= 1e-10
    skew = M * torch.tensor([1.0, 1.0, 3.0, 0.3], dtype=torch.float64)[:, None]   # not equinorm
    assert collapse_metrics(skew[y], y, weights=softmax_probe(skew[y], y, C)).nc3 >= 1e-2


def _data(st_ncc, st_nc1_clean, st_nc1_pert, st_angle, at_ncc, at_angle, worst=0.0, at_acc=0.6):
    layers = lambda ncc, angle, c, p: {"ncc_perturbed": ncc, "angle": angle,  # noqa: E731
                                       "clean": {"nc1_papyan": c}, "perturbed": {"nc1_papyan": p}}
    return {"eps": 0.2, "regimes": {
        "standard": {"layers": layers(st_ncc, st_angle, st_nc1_clean, st_nc1_pert), "accuracy_worst": worst,
                     "accuracy_pgd": worst, "sweep": []},
        "pgd_at": {"layers": layers(at_ncc, at_angle, [1, 1], [1, 1]), "accuracy_pgd": at_acc},
        "trades": {"layers": layers(at_ncc, at_angle, [1, 1], [1, 1]), "accuracy_pgd": at_acc}}}


def _verdicts(data):
    mod = registry.get(NAME)
    return {r.claim: r.holds for r in evaluate(NAME, mod.CLAIMS, data, {}, "quick")}


def test_claims_hold_on_the_paper_pattern_and_fail_on_its_reverse():
    paper = _verdicts(_data([0.8, 0.1], [0.5, 0.01], [1.0, 2.0], [10.0, 60.0], [0.5, 0.6], [20.0, 10.0]))
    assert all(paper.values()), paper
    reverse = _verdicts(_data([0.1, 0.8], [0.5, 0.5], [1.0, 1.0], [60.0, 10.0], [0.6, 0.5], [10.0, 20.0],
                              worst=0.5))
    assert not any(reverse.values()), reverse


def test_non_reproduced_claim_is_listed_with_evidence():
    claims = {c.name: c for c in registry.get(NAME).CLAIMS}
    reliable = claims["st_first_layer_keeps_reliable_simplex"]
    assert reliable.expected == () and "not reproduced" in reliable.evidence


TINY = dict(widths=[16, 16], per_class=6, epochs=2, attack_steps=1, eval_steps=2, check_steps=2, eps_sweep=[0.1],
            batch_size=30)


@pytest.mark.slow
def test_tiny_figure_writes_png_and_data_with_claims_measurable(tmp_path):
    out = registry.make(NAME, "quick", tmp_path, overrides=dict(TINY, device="cpu"))
    data = json.loads(out.data.read_text())
    assert out.png.exists() and set(data["regimes"]) == {"standard", "pgd_at", "trades"}
    for r in data["regimes"].values():
        assert len(r["layers"]["ncc_perturbed"]) == 2 and len(r["sweep"]) == 1
        assert r["accuracy_worst"] <= min(r["accuracy_pgd"], r["accuracy_apgd_dlr"])
    rows = evaluate(NAME, registry.get(NAME).CLAIMS, data, dict(registry.get(NAME).PRESETS["quick"], **TINY),
                    "quick")
    assert [r.error for r in rows] == [""] * len(rows)


@pytest.mark.slow
@pytest.mark.extended
def test_quick_preset_expected_claims_hold(tmp_path):
    rows = check(NAME, "quick", tmp_path)
    failed = [(r.claim, r.value, r.error) for r in rows if not r.ok]
    assert rows and failed == []
