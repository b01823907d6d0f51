"""Neural-collapse metrics: perfect collapse, the noisy-ETF closed form, NCC, hooks, leap (spec §3.5, oracles 11-12)."""
import pytest

torch = pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.collapse import (FeatureRecorder, balanced_subset, collapse_metrics, collapse_metrics_loop,  # noqa: E402
                           collapse_report, layer_features, leap, ncc_predict, simplex_etf, train_with_collapse)
from deep.models import HomogeneousMLP  # noqa: E402


def _noisy_etf(C=5, d=20, r=3.0, sigma=0.5, per_class=4000, seed=0):
    g = torch.Generator().manual_seed(seed)
    M = simplex_etf(C, d, r, generator=g)
    y = torch.arange(C).repeat_interleave(per_class)
    return M, y, M[y] + sigma * torch.randn(len(y), d, generator=g, dtype=torch.float64)


def test_perfect_collapse_gives_all_metrics_zero():
    M, y, _ = _noisy_etf(per_class=7)
    m = collapse_metrics(M[y], y, weights=3.0 * M)
    for name in ("nc1", "nc1_papyan", "nc2_norm", "nc2_angle", "nc2_norm_w", "nc2_angle_w", "nc3", "nc4"):
        assert abs(getattr(m, name)) <= 1e-10, name   # exact identities; rounding only


def test_noisy_etf_matches_closed_form_within_3_percent():
    C, r, sigma = 5, 3.0, 0.5
    _, y, H = _noisy_etf(C=C, r=r, sigma=sigma)
    m = collapse_metrics(H, y)
    predicted = sigma ** 2 * (C - 1) ** 2 / r ** 2           # Tr(Sigma_W Sigma_B^+), no 1/C (spec §3.5)
    assert abs(m.nc1 / predicted - 1) < 0.03                  # sampling error ~1% at 4000/class
    assert m.nc1_papyan == pytest.approx(m.nc1 / C, rel=1e-12)


def test_vectorised_nc1_equals_per_class_loop():
    _, y, H = _noisy_etf(C=4, d=12, per_class=50)
    assert collapse_metrics(H, y).nc1 == pytest.approx(collapse_metrics_loop(H, y), rel=1e-9)


def test_nc1_invariant_to_rotation_and_scale_and_sensitive_to_label_permutation():
    _, y, H = _noisy_etf(C=4, d=12, per_class=100)
    Q, _ = torch.linalg.qr(torch.randn(12, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    base = collapse_metrics(H, y).nc1
    assert collapse_metrics(3.0 * H @ Q, y).nc1 == pytest.approx(base, rel=1e-9)
    perm = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(2))]
    assert collapse_metrics(H, perm).nc1 > 20 * base


def test_ncc_on_collapsed_features_equals_argmax():
    M, y, _ = _noisy_etf(C=6, d=10, per_class=5)
    H = M[y]
    assert torch.equal(ncc_predict(H, M), (H @ M.T).argmax(1))
    assert torch.equal(ncc_predict(H, M), y)


def test_feature_recorder_hooks_every_hidden_layer_and_removes_hooks():
    net = HomogeneousMLP(5, [7, 6], out_features=3, generator=torch.Generator().manual_seed(0))
    x = torch.rand(4, 5)
    feats, out = layer_features(net, x)
    assert [f.shape[1] for f in feats] == [7, 6]
    assert torch.allclose(feats[-1], net.features(x))
    with FeatureRecorder([net.act]) as rec:
        net(x)
    net(x)
    assert len(rec.outputs) == 2


def test_leap_fraction_is_one_when_points_sit_on_target_vertex():
    M, y, _ = _noisy_etf(C=5, d=8, per_class=4)
    t = (y + 1) % 5
    out = leap(M[y], y, M[t], t)
    assert out["fraction_at_group"] == 1.0
    assert max(out["angle"]) < 1e-5


def test_invalid_inputs_raise():
    with pytest.raises(InvalidParameter):
        collapse_metrics(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(InvalidParameter):
        simplex_etf(5, 3)
    with pytest.raises(InvalidParameter):
        train_with_collapse(HomogeneousMLP(2, [3], 2), torch.rand(4, 2), torch.tensor([0, 1, 0, 1]), regime="x")


def test_training_logs_reports_for_every_perturbation():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(60, 6, generator=g)
    y = torch.arange(3).repeat(20)
    X[:, :3] = 0.2 + 0.6 * torch.nn.functional.one_hot(y, 3).float()
    net = HomogeneousMLP(6, [16], 3, generator=g)
    out = train_with_collapse(net, X, y, "pgd_at", epochs=4, eps=0.05, attack_steps=2, log_every=2, generator=g)
    assert out["epochs"] == [2, 4]
    rep = out["reports"][-1]
    assert set(rep) == {"clean", "pgd", "targeted", "gaussian", "sign"}
    assert len(rep["clean"]["nc1_layers"]) == 1
    report = collapse_report(net, X, y, 0.05, 3, ("clean", "targeted"), steps=2, generator=g)
    assert 0.0 <= report["targeted"]["leap"]["fraction_at_group"] <= 1.0


@pytest.mark.parametrize("C", [2, 3, 10])
def test_simplex_etf_angles_are_arccos_minus_one_over_c_minus_one(C):
    M = simplex_etf(C, 12, radius=2.5, generator=torch.Generator().manual_seed(C))
    u = M / M.norm(dim=1, keepdim=True)
    cos = (u @ u.T)[~torch.eye(C, dtype=torch.bool)]
    assert torch.allclose(cos, torch.full_like(cos, -1.0 / (C - 1)), atol=1e-12)   # exact construction
    assert torch.allclose(M.norm(dim=1), torch.full((C,), 2.5, dtype=torch.float64), atol=1e-12)


def test_leap_angle_equals_rotation_of_the_perturbed_means():
    # perturbed class means = clean ETF vertices rotated by 30 degrees in a plane orthogonal to the simplex
    C, d, theta = 4, 12, torch.deg2rad(torch.tensor(30.0, dtype=torch.float64))
    M = simplex_etf(C, d, 1.0)                                    # spans the first C axes, centred
    V = torch.zeros(C, d, dtype=torch.float64)
    V[:, C:2 * C] = torch.eye(C, dtype=torch.float64) - 1.0 / C   # same geometry on the next C axes
    V = V / V.norm(dim=1, keepdim=True)
    y = torch.arange(C).repeat_interleave(3)
    out = leap(M[y], y, (torch.cos(theta) * M + torch.sin(theta) * V)[y], y)
    assert max(abs(a - 30.0) for a in out["angle_centred"]) < 1e-9


def test_balanced_subset_has_equal_class_counts_and_rejects_small_classes():
    y = torch.tensor([0, 1, 1, 2, 2, 2, 0, 1])
    X = torch.arange(8.0)[:, None]
    Xs, ys = balanced_subset(X, y, 2)
    assert torch.equal(torch.bincount(ys), torch.tensor([2, 2, 2]))
    assert torch.equal(Xs[:, 0], torch.tensor([0.0, 6.0, 1.0, 2.0, 3.0, 4.0]))   # first two of each, data order
    with pytest.raises(InvalidParameter):
        balanced_subset(X, y, 3)


def test_targeted_report_counts_points_that_reach_their_target():
    # a linear "net" whose logits are the inputs: a big enough targeted step reaches every target
    net = HomogeneousMLP(3, [3], 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.eye(3))
        net.layers[1].weight.copy_(torch.eye(3))
    y = torch.arange(3).repeat(4)
    X = 0.5 + 0.3 * torch.nn.functional.one_hot(y, 3).float()    # inputs stay > 0 in the ball: no dead ReLU
    rep = collapse_report(net, X, y, 0.0, 3, ("clean", "targeted"), targeted_eps=0.4, targeted_steps=20,
                          generator=torch.Generator().manual_seed(0))
    assert rep["targeted"]["group_success"] == 1.0                # x_t + 0.4 > x_y - 0.4 for every point
    assert rep["targeted"]["leap"]["fraction_at_group"] == 1.0
    assert rep["clean"]["group_success"] == 1.0 and rep["clean"]["angle"] == 0.0


def test_label_smoothing_must_lie_in_unit_interval():
    with pytest.raises(InvalidParameter):
        train_with_collapse(HomogeneousMLP(2, [3], 2), torch.rand(4, 2), torch.tensor([0, 1, 0, 1]),
                            label_smoothing=1.0)
