"""Known limits and identities of the fixed point (spec §8 oracles 1, 2, 5; design: Mahalanobis(I) == l2)."""
import numpy as np
import pytest

from asymptotics import Attack, DataModel, Regularizer, solve

TOL = 1e-7   # both sides solved to a 1e-10 residual; differences come from the stopping point only


def close(a, b, keys=("m", "q", "V", "P", "gen_error", "adv_error")) -> bool:
    """True when the fixed points agree on ``keys`` to TOL (relative)."""
    return all(getattr(a, k) == pytest.approx(getattr(b, k), rel=TOL, abs=1e-10) for k in keys)


@pytest.mark.parametrize("reg", ["l1", "l1.5", "l2", "l3"])
@pytest.mark.parametrize("attack", ["linf", "l2", "l3"])
def test_eps_zero_has_no_attack_conjugate_and_robust_equals_clean(reg, attack):
    fp = solve(alpha=1.0, eps=0.0, lam=0.05, attack=attack, reg=reg, tol=1e-10)
    assert fp.P_hat == 0.0
    assert fp.adv_error == pytest.approx(fp.gen_error, abs=1e-15)
    assert fp.boundary_error == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("reg", ["l1", "l1.5", "l2", "l3"])
def test_eps_zero_does_not_depend_on_attack_geometry(reg):
    a = solve(alpha=0.7, eps=0.0, lam=0.05, attack="linf", reg=reg, tol=1e-10)
    b = solve(alpha=0.7, eps=0.0, lam=0.05, attack="l2", reg=reg, tol=1e-10)
    assert close(a, b, keys=("m", "q", "V", "gen_error"))


@pytest.mark.parametrize("point", [
    dict(attack="linf", reg="l1"), dict(attack="linf", reg="l1.5"), dict(attack="l3", reg="l2"),
    dict(attack="l1.5", reg="l3"), dict(attack="l1", reg="l2"), dict(attack="linf", reg="l2", loss="hinge"),
    dict(attack="l2", reg="l2", data=DataModel(rho=2.0, tau=0.4)),
])
def test_stein_identity_m_equals_rho_m_hat_v(point):
    # isotropic Gaussian teacher of variance rho: m = rho * m_hat * V for any separable prior
    fp = solve(alpha=1.3, eps=0.2, lam=0.05, tol=1e-11, **point)
    rho = point.get("data", DataModel()).rho
    assert fp.m == pytest.approx(rho * fp.m_hat * fp.V, rel=1e-9)


@pytest.mark.parametrize("alpha,eps,lam", [(1.0, 0.3, 0.05), (0.3, 0.5, 0.01), (3.0, 0.1, 0.2)])
def test_mahalanobis_identity_equals_l2(alpha, eps, lam):
    eye = np.ones(3)
    a = solve(alpha, eps, lam, attack="l2", reg="l2", tol=1e-10)
    b = solve(alpha, eps, lam, attack=Attack.mahalanobis(eye), reg=Regularizer.mahalanobis(np.eye(3)), tol=1e-10)
    assert close(a, b)


def test_scaled_identity_covariances_rescale_eps_and_lam():
    # Sigma_delta = c I  <=>  eps -> eps sqrt(c);  Sigma_w = k I  <=>  lam -> lam k
    c, k = 2.5, 0.4
    a = solve(1.0, 0.3 * np.sqrt(c), 0.05 * k, attack="l2", reg="l2", tol=1e-10)
    b = solve(1.0, 0.3, 0.05, attack=Attack.mahalanobis([c, c]), reg=Regularizer.mahalanobis([k, k]), tol=1e-10)
    assert close(a, b, keys=("m", "q", "V", "gen_error", "adv_error"))


def test_l2_attack_is_effective_ridge():
    # spec §2.3: P = q and H = 2 lam + V_hat + 2 P_hat (with R = lam ||w||^2): m = m_hat / H, q = (m_hat^2 + q_hat)/H^2
    fp = solve(1.0, 0.3, 0.05, attack="l2", reg="l2", tol=1e-11)
    H = 2 * 0.05 + fp.V_hat + 2 * fp.P_hat
    assert fp.P == pytest.approx(fp.q, rel=1e-12)
    assert fp.m == pytest.approx(fp.m_hat / H, rel=1e-9)
    assert fp.q == pytest.approx((fp.m_hat ** 2 + fp.q_hat) / H ** 2, rel=1e-9)
    assert fp.V == pytest.approx(1 / H, rel=1e-9)


def test_identity_spectra_equal_isotropic():
    a = solve(1.0, 0.3, 0.05, attack="linf", reg="l1", tol=1e-10)
    b = solve(1.0, 0.3, 0.05, attack="linf", reg="l1", data=DataModel(cov_x=[1.0, 1.0, 1.0]), tol=1e-10)
    assert close(a, b)


def test_rotated_commuting_matrices_equal_their_spectra():
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    sx, sd, sw = np.array([0.5, 1, 1.5, 2]), np.array([1, 2, 1, 3.0]), np.array([2, 1, 1, 0.5])
    rot = lambda s: Q @ np.diag(s) @ Q.T  # noqa: E731
    a = solve(1.0, 0.3, 0.05, attack=Attack.mahalanobis(sd), reg=Regularizer.mahalanobis(sw),
              data=DataModel(cov_x=sx), tol=1e-10)
    b = solve(1.0, 0.3, 0.05, attack=Attack.mahalanobis(rot(sd)), reg=Regularizer.mahalanobis(rot(sw)),
              data=DataModel(cov_x=rot(sx)), tol=1e-10)
    assert close(a, b)


def test_test_attack_defaults_to_training_and_eps_test_zero_gives_clean_error():
    a = solve(1.0, 0.3, 0.05, attack="linf", reg="l2")
    b = solve(1.0, 0.3, 0.05, attack="linf", reg="l2", eps_test=0.3, attack_test="linf")
    assert a.adv_error == b.adv_error
    c = solve(1.0, 0.3, 0.05, attack="linf", reg="l2", eps_test=0.0)
    assert c.adv_error == pytest.approx(c.gen_error, abs=1e-15)


def test_l2_test_attack_on_linf_trained_model_uses_q():
    # an l2 test attack reads ||w||_2 / sqrt(d) = sqrt(q) on isotropic data, whatever the training geometry
    fp = solve(1.0, 0.3, 0.05, attack="linf", reg="l1", eps_test=0.2, attack_test="l2", tol=1e-10)
    assert fp.P_test == pytest.approx(fp.q, rel=1e-9)
    assert fp.test_attack_term == pytest.approx(0.2 * np.sqrt(fp.q), rel=1e-9)


def test_near_collapse_is_continuous_with_the_collapsed_solution():
    # linf attack + l1 regularizer at tiny alpha: as lam grows w becomes so sparse that q underflows; the errors
    # approach 1/2 continuously and the solver then reports the collapsed (w = 0) solution
    errs = []
    for lam in (0.1, 0.3, 1.0, 3.0):
        fp = solve(alpha=0.01, eps=0.3, lam=lam, attack="linf", reg="l1")
        errs.append((fp.gen_error, fp.adv_error, fp.trivial))
    assert [e[2] for e in errs] == [False, False, False, True]
    assert all(abs(g - 0.5) < 0.02 and abs(a - 0.5) < 0.02 for g, a, _ in errs)
    assert abs(errs[2][1] - 0.5) < 1e-6 and solve(0.01, 0.3, 3.0, reg="l1").state is None


def test_mahalanobis_test_attack_reads_the_weighted_second_moment():
    # isotropic data, training linf + l1; a Mahalanobis test attack c I reads P_test = c q and A_test = sqrt(c q)
    c = 2.5
    fp = solve(1.0, 0.3, 0.05, attack="linf", reg="l1", eps_test=0.2, attack_test=Attack.mahalanobis([c, c]),
               tol=1e-10)
    assert fp.P_test == pytest.approx(c * fp.q, rel=1e-9)
    assert fp.test_attack_term == pytest.approx(0.2 * np.sqrt(c * fp.q), rel=1e-9)


def test_l1_test_attack_needs_l1_training():
    with pytest.raises(ValueError, match="attack_test"):
        solve(1.0, 0.3, 0.05, attack="linf", reg="l2", attack_test="l1")
    fp = solve(1.0, 0.3, 0.05, attack="l1", reg="l2", eps_test=0.1, attack_test="l1")
    assert fp.P_test == fp.P and fp.test_attack_term == pytest.approx(0.1 * fp.P)
