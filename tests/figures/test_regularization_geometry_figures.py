"""The three state-evolution figures of issue 17 (fixed-lambda r sweep, low-alpha scaling, Mahalanobis geometry):
tiny grids checked against independent computations (fast), and the claims at the quick preset (slow)."""
import json
import math

import numpy as np
import pytest
from scipy import optimize, special

import asymptotics
import figures
from figures.claims import evaluate
from figures.io import to_jsonable
from figures.measures import arr


def _make(name, tmp_path, overrides):
    """Run one figure through the registry; return (data, params) as read back from its JSON."""
    out = figures.make(name, preset="quick", outdir=tmp_path, overrides=overrides)
    assert out.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return json.loads(out.data.read_text()), json.loads(out.params.read_text())["params"]


# ---- order_parameter_scaling -----------------------------------------------------------------------------------

def test_scaling_r2_matches_closed_form_small_alpha_limit():
    lam, eps = 1e-3, 0.3
    from figures import order_parameter_scaling as ops

    params = {**ops.PRESETS["quick"], **dict(r_values=[2.0], alpha_min=1e-4, alpha_max=1e-3, n_alpha=4,
                                             fit_alpha_max=1e-3, theory_alpha_max=1e-3)}
    data = json.loads(json.dumps(to_jsonable(ops.compute(params))))      # as the figure writes it
    c = data["curves"]["r=2"]
    assert c["failures"] == []
    # docs/derivations.md section 9.3, r = 2: exponents (1, 1, 1/2, 0, 1/2) exactly in the limit; at alpha <= 1e-3
    # the neglected terms are O(eps sqrt(alpha)) ~ 0.01 relative, so 0.01 on the exponent
    for k, e in {"m": 1.0, "q": 1.0, "P": 0.5, "V": 0.0, "m_over_sqrt_q": 0.5}.items():
        assert c["fit"][k][0] == pytest.approx(e, abs=0.01), k
    # the limit computed here, independently of the figure: u0 = prox of a zero field at V = 1/(2 lam),
    # kappa0 = 1/(1 + e^u0); m = sqrt(2/pi) alpha u0, q = alpha kappa0^2/(4 lam^2), P = sqrt(2/pi) sqrt(alpha)
    # kappa0/(2 lam); the full fixed point at alpha = 1e-4 differs by 0.15-0.3% (measured), tolerance 1%
    u0 = optimize.brentq(lambda u: u - special.expit(-u) / (2 * lam), 0.0, 50.0, xtol=1e-14)
    k0 = special.expit(-u0)
    a = data["alpha"][0]
    assert a == pytest.approx(1e-4)
    assert c["m"][0] == pytest.approx(math.sqrt(2 / math.pi) * a * u0, rel=1e-2)
    assert c["q"][0] == pytest.approx(a * k0 ** 2 / (4 * lam ** 2), rel=1e-2)
    assert c["P"][0] == pytest.approx(math.sqrt(2 / math.pi) * math.sqrt(a) * k0 / (2 * lam), rel=1e-2)
    # the boundary error tends to Phi(eps sqrt(2/pi)) - 1/2 (measured 0.06% off at alpha = 1e-4)
    limit = special.ndtr(eps * math.sqrt(2 / math.pi)) - 0.5
    assert c["boundary_limit"] == pytest.approx(limit, rel=1e-12)
    assert c["boundary_error"][0] == pytest.approx(limit, rel=2e-3)


def test_scaling_reduced_equations_track_the_full_fixed_point_at_r1():
    from figures.order_parameter_scaling import small_alpha_overlaps

    # r = 1 keeps q = O(1) in the channel: the reduced equations drop only m^2/q and the margin shift eps P; at
    # alpha = 1e-4 they agree with the full fixed point to 0.12% (docs section 9.4), tolerance 1%
    fp = asymptotics.solve(alpha=1e-4, eps=0.3, lam=1e-3, attack="linf", reg="l1")
    red = small_alpha_overlaps(1e-4, 1.0, 1e-3, 0.3)          # cold: no start from the full solution
    for k in ("m", "q", "P", "V"):
        assert red[k] == pytest.approx(getattr(fp, k), rel=1e-2), k
    # the fraction of non-zero weights nu = V V_hat is below alpha, and E_bnd ~ eps sqrt(nu/(4 pi)) (docs 9.3)
    nu = fp.V * fp.V_hat
    assert 0.5e-4 < nu < 1e-4
    assert fp.boundary_error == pytest.approx(0.3 * math.sqrt(nu / (4 * math.pi)), rel=0.05)


# ---- reg_order_fixed_lambda --------------------------------------------------------------------------------------

def test_fixed_lambda_profiles_match_direct_solves(tmp_path):
    overrides = dict(attacks=["linf", "l1.5"], n_r=6, eps_curves=[0.01, 0.4], eps_inset=[0.01, 0.4], refine=False)
    data, params = _make("reg_order_fixed_lambda", tmp_path, overrides)
    r_values = arr(data["r"])
    np.testing.assert_allclose(r_values, np.arange(1.0, 7.0))
    for attack, block in data["attacks"].items():
        assert block["dual_exponent"] == {"linf": 1.0, "l1.5": 3.0}[attack]
        for prof in block["profiles"].values():
            adv = arr(prof["adv_error"])
            assert prof["failures"] == [] and np.isfinite(adv).all()
            assert (adv >= arr(prof["gen_error"]) - 1e-12).all()          # an attack can only add errors
            assert prof["r_star"] == r_values[int(np.argmin(adv))] and prof["value"] == adv.min()
        # the stored r = 2 point (a warm-started sweep over r) equals a cold solve at that point: same problem,
        # convex ERM, unique fixed point; tolerance from the solver's 1e-8 residual
        fp = asymptotics.solve(alpha=params["alpha"], eps=0.4, lam=params["lam"], attack=attack, reg="l2")
        assert block["profiles"]["eps=0.4"]["adv_error"][1] == pytest.approx(fp.adv_error, abs=1e-6)
    # the claim on this grid: r* moves away from 2 toward p* (down for linf, up for l1.5 whose dual norm is l3)
    path = {a: [b["profiles"][f"eps={e:g}"]["r_star"] for e in (0.01, 0.4)] for a, b in data["attacks"].items()}
    assert path["linf"] == [2.0, 1.0] and path["l1.5"][0] == 2.0 and path["l1.5"][1] >= 3.0


# ---- mahalanobis_geometry ----------------------------------------------------------------------------------------

def test_mahalanobis_points_match_direct_solves_and_symmetry(tmp_path):
    from asymptotics import Attack

    overrides = dict(alphas=[1.0], n_eps=2, eps_max=0.5, sim_eps=[0.5], d=100, seeds=2, n_test=500)
    data, params = _make("mahalanobis_geometry", tmp_path, overrides)
    assert data["eps"] == [0.0, 0.5]
    block = data["alphas"]["alpha=1"]
    S = Attack.mahalanobis(params["sigma_delta"])
    # isotropic data and teacher: swapping the two blocks of Sigma_delta is a symmetry, so at eps = 0 (no attack)
    # Sigma_w = Sigma_delta and Sigma_w = Sigma_delta^{-1} have the same optimum (to the lam search's accuracy)
    assert block["dual"]["adv_error"][0] == pytest.approx(block["primal"]["adv_error"][0], abs=1e-5)
    for g in ("dual", "ridge", "primal"):
        c = block[g]
        assert c["failures"] == []
        lam = c["lam"][1]
        point = dict(alpha=1.0, eps=0.5, loss="logistic", attack=S)
        from figures.mahalanobis_geometry import geometry_spectra
        from asymptotics import Regularizer

        direct = asymptotics.solve(lam=lam, reg=Regularizer.mahalanobis(geometry_spectra(params["sigma_delta"])[g]),
                                   **point)
        assert c["adv_error"][1] == pytest.approx(direct.adv_error, abs=1e-7)       # the stored theory point
        assert c["sim"]["adv_error"] == [pytest.approx(direct.adv_error, abs=1e-7)]
        # lam* is a minimum: halving or doubling lam cannot lower the robust error (unless lam* is at the bracket)
        if not c["at_boundary"][1]:
            for f in (0.5, 2.0):
                other = asymptotics.solve(lam=lam * f, reg=Regularizer.mahalanobis(
                    geometry_spectra(params["sigma_delta"])[g]), **point)
                assert other.adv_error >= c["adv_error"][1] - 1e-9
        if g == "ridge":       # Mahalanobis(I) and the l2 regularizer are the same problem (design.md)
            assert asymptotics.solve(lam=lam, reg="l2", **point).adv_error == pytest.approx(direct.adv_error,
                                                                                           abs=1e-8)
        s = c["sim"]
        assert s["eps"] == [0.5] and s["adv_mean"][0] >= s["gen_mean"][0] and s["adv_se"][0] > 0


def test_mahalanobis_crossover_interpolates_the_sign_change():
    from figures.mahalanobis_geometry import crossover

    assert crossover([0.0, 0.1, 0.2], [0.02, 0.01, -0.01]) == pytest.approx(0.15)
    assert math.isnan(crossover([0.0, 0.1], [0.01, 0.02]))


# ---- the claims at the quick preset (slow) -------------------------------------------------------------------------

def _quick_claims(name, tmp_path):
    out = figures.make(name, preset="quick", outdir=tmp_path)
    data = json.loads(out.data.read_text())
    params = json.loads(out.params.read_text())["params"]
    return {r.claim: r for r in evaluate(name, figures.get(name).CLAIMS, data, params, "quick")}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["order_parameter_scaling", "reg_order_fixed_lambda", "mahalanobis_geometry"])
def test_quick_preset_claims_hold(name, tmp_path):
    results = _quick_claims(name, tmp_path)
    assert results and all(r.holds and r.expected for r in results.values()), \
        {k: (r.value, r.error) for k, r in results.items()}
