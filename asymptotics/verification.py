"""An independent check of a solved fixed point: every start must lead to it (the ERM is convex: one fixed point).

``verify_fixed_point(fp)`` re-solves the point at a tight tolerance from each dispersed start alone (a bare run, no
fallback) and along the continuation paths alone, and compares each route that converges with ``fp``. For a collapsed result (``fp.trivial``) it re-evaluates the
zero test and runs the bare iteration (no zero shortcut) from the same starts: none may converge to a point with
q > 0. Used by the convergence map and the tests; costs about six solves.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .errors import ConvergenceError
from .fixed_point import FixedPoint, _Map, _run, dispersed_starts, solve
from .problem import Problem
from .trivial import zero_test

FIELDS = ("m", "q", "V", "P")


@dataclass(frozen=True)
class Verification:
    """The verdict of :func:`verify_fixed_point`: do independent routes reach the same fixed point?

    Attributes
    ----------
    agree : bool
        Every route that converged reached ``fp`` (within ``rel``).
    verified : bool
        At least one independent route converged and all agree (False: unverified, which is not wrong).
    routes : int
        Routes tried (dispersed starts, a continuation path).
    converged : int
        Routes that converged.
    max_rel_diff : float
        The largest relative difference in (m, q, V, P) (0 for a collapse confirmed by every route).
    zero_test : dict
        The exact zero test's verdict at the point.
    detail : str
        What disagreed, if anything.

    Examples
    --------
    >>> import asymptotics
    >>> v = asymptotics.verify_fixed_point(asymptotics.solve(alpha=1.0, eps=0.1, lam=0.1))
    >>> v.agree, v.verified, v.max_rel_diff < 1e-6
    (True, True, True)
    """

    agree: bool
    verified: bool
    routes: int
    converged: int
    max_rel_diff: float
    zero_test: dict
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _rel_diff(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-9)))


def verify_fixed_point(fp: FixedPoint, *, rel: float = 1e-5, tol: float = 1e-11) -> Verification:
    """Check ``fp`` by dispersed restarts and a continuation path (module docstring).

    Parameters
    ----------
    fp : FixedPoint
        A result of :func:`asymptotics.solve` (its ``point`` is re-parsed).
    rel : float
        Relative agreement required in (m, q, V, P) (``fp`` itself was solved at its own ``tol``, 1e-8 by default,
        so 1e-5 leaves room for conditioning).
    tol : float
        Tolerance of the verification solves.

    Returns
    -------
    Verification

    Examples
    --------
    >>> import asymptotics
    >>> fp = asymptotics.solve(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2")
    >>> asymptotics.verify_fixed_point(fp).agree
    True
    """
    point = dict(fp.point)
    pb = Problem.from_point(**point)
    zero = zero_test(pb).to_dict()
    starts = dispersed_starts(pb)
    if fp.trivial:
        return _verify_collapse(pb, starts, zero, tol)
    reference = np.array([getattr(fp, k) for k in FIELDS])
    worst, converged, detail = 0.0, 0, ""
    routes = [("start", x0) for x0 in starts] + [("continuation", None)]
    F = _Map(pb, True)
    for name, x0 in routes:
        # each route alone: a bare run from one start (no fallback), or the continuation path alone
        if x0 is not None:
            with np.errstate(all="ignore"):
                attempt = _run(F, x0, tol, 3000, 0.5, 6, [])
            if not attempt.converged:
                continue
            state = attempt.x
        else:
            try:
                other = solve(**point, tol=tol, strategy="continuation")
            except ConvergenceError:
                continue
            state = tuple(getattr(other, k) for k in FIELDS)
        converged += 1
        diff = _rel_diff(state, reference)
        if diff > worst:
            worst = diff
            detail = f"{name} {x0} reached {list(state)}"
    agree = converged > 0 and worst <= rel
    return Verification(agree, converged > 0, len(routes), converged, worst, zero,
                        "" if agree else detail or "no route converged")


def _verify_collapse(pb: Problem, starts, zero: dict, tol: float) -> Verification:
    """A certified w = 0: the zero test must hold and no bare iteration may converge to q > 0."""
    F = _Map(pb, True)
    converged, detail = 0, ""
    with np.errstate(all="ignore"):
        for x0 in starts:
            attempt = _run(F, x0, tol, 1500, 0.5, 6, [])
            if attempt.converged and attempt.x[1] > 1e-12 * F.rho_eff:
                converged += 1
                detail = f"start {x0} converged to q = {attempt.x[1]:.3g} > 0"
    agree = bool(zero["optimal"]) and converged == 0
    if not zero["optimal"]:
        detail = "the zero test does not certify w = 0"
    return Verification(agree, True, len(starts), converged, 0.0 if agree else math.inf, zero, detail)
