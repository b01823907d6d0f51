"""ntk_eigenfeature_images: eigen-feature input gradients against finite differences and the linear kernel's closed
form, the image measures (total variation, roughness, span fraction) on images with known values, the claims'
criteria on crafted data, a tiny end-to-end run, and the quick-preset claims (slow)."""
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from deep.ntk import (KernelMachine, feature_input_gradients, roughness, span_fraction,  # noqa: E402
                      total_variation)
from figures import registry  # noqa: E402
from figures.claims import check, evaluate  # noqa: E402

NAME = "ntk_eigenfeature_images"


def _machine(kernel="ntk", n=12, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=g, dtype=torch.float64)
    Y = torch.where(torch.rand(n, generator=g, dtype=torch.float64) > 0.5, 1.0, -1.0).double()
    opts = dict(depth=2) if kernel == "ntk" else None
    return KernelMachine(X, Y, kernel=kernel, ridge=1e-8, relative_ridge=True, kernel_options=opts), g


def test_feature_gradients_match_central_finite_differences():
    km, g = _machine()
    x = torch.rand(3, 6, generator=g, dtype=torch.float64)
    idx = [0, 1, 5, 11]
    G = feature_input_gradients(km, x, idx)
    F = lambda z: km.features(z, idx)                     # noqa: E731  (k, m)
    h = 1e-6
    fd = torch.stack([(F(x + h * e) - F(x - h * e)) / (2 * h) for e in torch.eye(6, dtype=torch.float64)], -1)
    # central differences: O(h^2) truncation + O(1e-16 / h) rounding, relative to the gradient scale
    assert float((G - fd).abs().max()) <= 1e-6 * float(G.abs().max())


def test_linear_kernel_feature_gradient_is_its_dual_weight_through_the_data():
    km, g = _machine(kernel="linear")
    x = torch.rand(4, 6, generator=g, dtype=torch.float64)
    G = feature_input_gradients(km, x, [0, 2])
    W = km.feature_weights([0, 2])                        # f_i(x) = x . (X^T w_i) / d
    expected = (W @ km.X / km.X.shape[1])[:, None, :].expand_as(G)
    assert torch.allclose(G, expected, atol=1e-12)


def test_feature_gradients_sum_to_the_predictor_gradient():
    km, g = _machine()
    x = torch.rand(2, 6, generator=g, dtype=torch.float64).requires_grad_(True)
    (full,) = torch.autograd.grad(km(x).sum(), x)
    parts = feature_input_gradients(km, x.detach(), range(km.n_features)).sum(0)
    assert torch.allclose(parts, full, atol=1e-9 * float(full.abs().max()))


def test_total_variation_of_hand_images():
    checker = torch.tensor([[0.0, 1.0, 0.0, 1.0]])          # [[0, 1], [0, 1]]: only horizontal jumps
    assert float(total_variation(checker, (2, 2))) == 2.0
    diag = torch.tensor([[0.0, 1.0, 1.0, 0.0]])             # [[0, 1], [1, 0]]: four unit jumps
    assert float(total_variation(diag, (2, 2))) == 4.0


def test_roughness_is_one_for_noise_and_small_for_a_ramp():
    g = torch.Generator().manual_seed(3)
    noise = torch.randn(400, 64, generator=g, dtype=torch.float64)
    r = roughness(noise, (8, 8), permutations=16, generator=g)
    # a permutation of iid pixels is distributed like the image itself: mean ratio 1 (per-image spread ~0.1,
    # so the mean of 400 is within ~0.01; tolerance 0.03)
    assert abs(float(r.mean()) - 1.0) <= 0.03
    ramp = torch.arange(64, dtype=torch.float64).reshape(8, 8).T.reshape(1, 64)    # smooth in one direction
    assert float(roughness(ramp, (8, 8), permutations=64, generator=g)) <= 0.3


def test_span_fraction_in_span_orthogonal_and_random():
    g = torch.Generator().manual_seed(4)
    B = torch.randn(20, 3, generator=g, dtype=torch.float64)
    inside = torch.randn(5, 3, generator=g, dtype=torch.float64) @ B.T
    Q, _ = torch.linalg.qr(B, mode="complete")
    outside = torch.randn(5, 17, generator=g, dtype=torch.float64) @ Q[:, 3:].T
    assert torch.allclose(span_fraction(inside, B), torch.ones(5, dtype=torch.float64), atol=1e-12)
    assert float(span_fraction(outside, B).abs().max()) <= 1e-12
    rand = span_fraction(torch.randn(2000, 20, generator=g, dtype=torch.float64), B)
    # Beta(3/2, 17/2) has mean 3/20 and sd ~0.078: the mean of 2000 is within 3 SE = 0.0053
    assert abs(float(rand.mean()) - 3 / 20) <= 0.0053


def _kernel(span_robust, rough_bottom, span_bottom, rob_bottom, rough_profile):
    index = [0, 1, 2, 3]
    return {"top": [0, 1], "bottom": [2, 3],
            "profile": {"index": index, "usefulness": [0.5, 0.95, 0.5, 0.5], "robustness": [0.5, 0.9, rob_bottom,
                                                                                              rob_bottom],
                        "span": [1.0, span_robust, span_bottom, span_bottom], "roughness": rough_profile(rough_bottom)}}


def _verdicts(k, consistency):
    data = {"majority": 0.55, "chance_span": 2 / 64, "kernels": [k, k], "depth_consistency": consistency}
    return {r.claim: r.holds for r in evaluate(NAME, registry.get(NAME).CLAIMS, data, {}, "quick")}


def test_claims_hold_on_the_paper_pattern_and_fail_on_its_reverse():
    paper = _kernel(0.95, 1.0, 0.03, 0.0, lambda b: [0.5, 0.7, 0.9, b])
    assert all(_verdicts(paper, [1.0, 0.99, 0.5, 0.5]).values())
    reverse = _kernel(0.1, 0.6, 0.5, 0.3, lambda b: [1.0, 0.9, 0.8, b])
    assert not any(_verdicts(reverse, [1.0, 0.5, 0.5, 0.5]).values())


TINY = dict(n_train=40, n_test=20, top=2, bottom=2, profile=[0, 1, 5, 39], steps=2, permutations=4)


@pytest.mark.slow
def test_tiny_figure_writes_png_and_data_with_claims_measurable(tmp_path):
    out = registry.make(NAME, "quick", tmp_path, overrides=dict(TINY, device="cpu"))
    data = json.loads(out.data.read_text())
    assert out.png.exists() and len(data["kernels"]) == 2
    for k in data["kernels"]:
        assert k["top"] == [0, 1] and k["bottom"] == [38, 39]
        assert k["profile"]["index"] == [0, 1, 5, 38, 39]
        assert all(0 <= v <= 1 + 1e-12 for v in k["profile"]["span"])
        assert len(k["images"]) == 4 and all(len(im) == 2 and len(im[0]) == 64 for im in k["images"])
    rows = evaluate(NAME, registry.get(NAME).CLAIMS, data, dict(registry.get(NAME).PRESETS["quick"], **TINY),
                    "quick")
    assert [r.error for r in rows] == [""] * len(rows)


@pytest.mark.slow
@pytest.mark.extended
def test_quick_preset_expected_claims_hold(tmp_path):
    rows = check(NAME, "quick", tmp_path)
    failed = [(r.claim, r.value, r.error) for r in rows if not r.ok]
    assert rows and failed == []
