"""asymptotics agrees with an independent implementation of the same equations (benchmarks/baseline_public_style.py).

The baseline shares no code with ``asymptotics``: quad over the Gaussian measure, a Brent minimiser for every
proximal map, derivatives by the implicit-function formulas, plain damped iteration. Agreement therefore checks the
equations' translation (conventions, factors of 2, the attack's dead zone) as well as the numerics.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import asymptotics
from asymptotics.channels import channel_hats
from asymptotics.priors import prior_overlaps
from asymptotics.problem import Problem

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "baseline_public_style.py"
_spec = importlib.util.spec_from_file_location("baseline_public_style", _PATH)
baseline = importlib.util.module_from_spec(_spec)
sys.modules.setdefault(_spec.name, baseline)   # dataclasses look their module up there
_spec.loader.exec_module(baseline)

# A state near the alpha = 1, eps = 0.3, lam = 0.05 fixed points (spec §8 item 9), away from any fixed point.
STATE = (1.0405, 2.2943, 4.5148, 1.1011)
ALPHA, EPS, LAM = 1.0, 0.3, 0.05


def _problem(r):
    return Problem.from_point(ALPHA, EPS, LAM, attack="linf", reg=f"l{r:g}", loss="logistic")


def _package_hats(pb, state):
    h = channel_hats(*state, alpha=pb.alpha, loss=pb.loss, eps=pb.eps, attack=pb.attack, rho_x=pb.rho_x,
                     tau=pb.data.tau)
    return (h.m_hat, h.q_hat, h.V_hat, h.P_hat)


def _rel(a, b):
    return max(abs(x - y) / abs(y) for x, y in zip(a, b))


def test_channel_conjugates_match_baseline():
    # Both sides integrate smooth integrands to near machine precision (observed ~1e-14); 1e-8 leaves room for
    # quad's default tolerances.
    pb = _problem(2.0)
    ours = _package_hats(pb, STATE)
    ref = baseline.channel_conjugates(*STATE, alpha=ALPHA, eps=EPS)
    assert _rel(ref, ours) < 1e-8


@pytest.mark.parametrize("r", [1.0, 1.5, 2.0, 3.0])
def test_prior_overlaps_match_baseline(r):
    # The baseline computes V as E[dw~/dGamma] and m with E[theta | Gamma]; the package uses Stein's identity and
    # closed forms. Observed agreement ~1e-13; 1e-8 is the brief's bound.
    pb = _problem(r)
    hats = _package_hats(pb, STATE)
    ours = prior_overlaps(hats, LAM, r, pb.attack.dual_exponent, pb.spectra)[:4]
    ref = baseline.prior_overlaps(*hats, lam=LAM, r=r, ps=1.0)
    assert _rel(ref, ours) < 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("r, lam", [(1.0, 0.05), (2.0, 0.05), (2.0, 0.01)])
def test_fixed_point_matches_damped_baseline(r, lam):
    # Both stop at tol 1e-8 (package: relative residual; baseline: max-abs change of the damped iterate, blend
    # 0.4); their distance to the true fixed point is ~1e-8 / (1 - contraction), observed <= 1e-8 at these points.
    ours = asymptotics.solve(1.0, EPS, lam, attack="linf", reg=f"l{r:g}", loss="logistic", tol=1e-8)
    ref = baseline.solve_damped(1.0, EPS, lam, r, init=(0.5, 1.0, 1.0, 1.0), blend=0.4, tol=1e-8)
    assert ref.converged
    assert _rel(ref.state, ours.state) < 1e-6
