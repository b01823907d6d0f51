"""solve(..., newton=True): Newton's method finishing the fixed-point iteration reaches the same certified point.

Oracle: the Anderson solve at tol 1e-13 (an independent route to the fixed point). Tolerance 1e-7 relative: both
solves stop at residual 1e-8 in the y coordinates, which bounds their distance to the fixed point up to the
conditioning of I - dF/dx (< 10 here).
"""
import numpy as np
import pytest

import asymptotics.fixed_point as fpm
from asymptotics import InvalidParameter, solve

FIELDS = ("m", "q", "V", "P", "adv_error", "gen_error")


def _values(fp):
    return np.array([getattr(fp, k) for k in FIELDS])


@pytest.mark.parametrize("point", [
    dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2"),                       # closed-form channel Jacobian
    dict(alpha=0.3, eps=0.5, lam=1e-3, attack="linf", reg="l1.5", loss="hinge"),       # differences of the map
])
def test_newton_finish_reaches_the_fixed_point_and_is_recorded(point):
    reference = solve(**point, tol=1e-13)
    fp = solve(**point, newton=True)
    np.testing.assert_allclose(_values(fp), _values(reference), rtol=1e-7)
    c = fp.certificate
    assert c["residual"] <= c["tol"] and c["newton_steps"] >= 1 and c["jacobians"] >= 1
    plain = solve(**point)
    assert plain.certificate["newton_steps"] == 0 and plain.certificate["jacobians"] == 0


def test_a_newton_step_that_raises_the_residual_is_undone(monkeypatch):
    point = dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2")
    # a wrong Jacobian (J = 2 I: the step is -(G(y) - y), uphill): undone, and Anderson finishes the solve
    monkeypatch.setattr(fpm, "_forward_jacobian", lambda F, y, gy: 2.0 * np.eye(4))
    fp = solve(**point, newton=True)
    np.testing.assert_allclose(_values(fp), _values(solve(**point, tol=1e-13)), rtol=1e-7)
    assert fp.certificate["newton_steps"] == 0 and fp.certificate["jacobians"] >= 1


def test_newton_flag_is_validated():
    with pytest.raises(InvalidParameter, match="newton"):
        solve(1.0, 0.3, 0.05, newton="yes")
