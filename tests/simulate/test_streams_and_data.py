"""Seeds and streams: same seed same numbers; different seeds and roles independent; data models and tie rule."""
import numpy as np
import pytest

from asymptotics import DataModel, InvalidParameter, Problem
from simulate import data as D
from simulate import erm, streams


def test_same_seed_gives_identical_results():
    point = dict(alpha=0.5, eps=0.3, lam=0.05, attack="linf", reg="l2", d=100, seeds=[3], n_test=200)
    a, b = erm(**point), erm(**point)
    assert a.per_seed[0]["m"] == b.per_seed[0]["m"] and a.mean == b.mean


def test_seed_results_do_not_depend_on_other_seeds_or_workers():
    point = dict(alpha=0.5, eps=0.3, lam=0.05, attack="linf", reg="l2", d=100, n_test=200)
    alone = erm(**point, seeds=[2]).per_seed[0]
    together = erm(**point, seeds=[0, 1, 2]).per_seed[2]
    assert alone["q"] == together["q"] and alone["adv_error_mc"] == together["adv_error_mc"]


def test_roles_and_seeds_draw_independent_streams():
    # no stream shares its first draws with another: 4000 normals each, pairwise correlation < 5/sqrt(4000)
    draws = {(s, r): streams.generator(s, r).standard_normal(4000) for s in range(3) for r in ("teacher", "train",
                                                                                                 "test")}
    keys = list(draws)
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            a, b = draws[keys[i]], draws[keys[j]]
            assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(4000)
            assert not np.any(np.isin(a, b))


def test_train_and_test_sets_share_no_rows():
    pb = Problem.from_point(alpha=1.0, eps=0.3, lam=0.05)
    theta = D.gaussian_teacher(pb, 50, streams.generator(0, "teacher"))
    train = D.gaussian_sample(pb, theta, 200, streams.generator(0, "train"))
    test = D.gaussian_sample(pb, theta, 200, streams.generator(0, "test"))
    assert not np.any(np.isin(train.X.ravel(), test.X.ravel()))


def test_gaussian_model_moments_follow_the_spectra():
    # x ~ N(0, Sigma_x) with the spectrum tiled; teacher ||theta||^2/d ~ rho; 4 sigma tolerances
    pb = Problem.from_point(alpha=1.0, eps=0.3, lam=0.05, data=DataModel(rho=2.0, tau=0.5, cov_x=[0.5, 1.5]))
    d = 400
    theta = D.gaussian_teacher(pb, d, streams.generator(0, "teacher"))
    assert theta @ theta / d == pytest.approx(2.0, abs=4 * 2.0 * np.sqrt(2 / d))
    s = D.gaussian_sample(pb, theta, 4000, streams.generator(0, "train"))
    var = s.X.var(axis=0)
    assert np.mean(var[0::2]) == pytest.approx(0.5, abs=4 * 0.5 * np.sqrt(2 / 4000 / 200))
    assert np.mean(var[1::2]) == pytest.approx(1.5, abs=4 * 1.5 * np.sqrt(2 / 4000 / 200))
    assert 0.4 < s.positive_fraction < 0.6


def test_sparse_model_ties_get_negative_label_and_balance_is_reported():
    rng_t, rng_x = streams.generator(0, "teacher"), streams.generator(0, "train")
    w = D.sparse_teacher(512, 23, rng_t)
    s = D.sparse_sample(w, 4000, 4, rng_x)
    ties = s.field == 0
    assert np.all(s.y[ties] == -1) and s.ties == ties.sum()
    # spec implicit_bias_robust §1.3: about 84% ties, about 92% negatives
    assert 0.75 < s.tie_fraction < 0.9 and 0.04 < s.positive_fraction < 0.15
    assert np.all(np.any(s.X != 0, axis=1))
    pos = D.sparse_sample(w, 500, 4, streams.generator(1, "train"), tie="positive")
    assert np.all(pos.y[pos.field == 0] == 1)


def test_margin_injection_raises_every_margin_by_margin_times_l1_norm():
    w = D.sparse_teacher(64, 8, streams.generator(0, "teacher"))
    s = D.sparse_sample(w, 300, 6, streams.generator(0, "train"), margin=0.5)
    np.testing.assert_allclose(s.y * (s.X @ w), s.y * s.field + 0.5 * np.abs(w).sum(), rtol=1e-12)


def test_bad_inputs_raise_invalid_parameter():
    with pytest.raises(InvalidParameter, match="d"):
        erm(alpha=0.5, eps=0.3, lam=0.05, data=DataModel(cov_x=[1.0, 2.0, 3.0]), d=100)
    with pytest.raises(InvalidParameter, match="seeds"):
        erm(alpha=0.5, eps=0.3, lam=0.05, d=100, seeds=0)
    with pytest.raises(InvalidParameter, match="role"):
        streams.generator(0, "validation")
    with pytest.raises(InvalidParameter, match="tie"):
        D.sparse_sample(np.ones(8), 10, 2, streams.generator(0, "train"), tie="coin")


def test_inverse_d_fit_recovers_intercept_and_slope():
    from simulate.compare import fit_inverse_d

    ds = np.array([250, 500, 1000, 2000])
    a, se, b, chi2 = fit_inverse_d(ds, 1.5 + 40.0 / ds, np.full(4, 1e-3))
    assert a == pytest.approx(1.5, abs=1e-10) and b == pytest.approx(40.0, rel=1e-8) and chi2 < 1e-12
    assert 5e-4 < se < 1e-2   # one point has se 1e-3; the intercept of four is known better than that, not 10x
