"""The fixed-point (state-evolution) solver of regularized adversarial ERM and its result object.

Iteration ``x = (m, q, V, P) -> channel -> (m_hat, q_hat, V_hat, P_hat) -> prior -> x``, accelerated by
Anderson mixing on the unconstrained coordinates ``(atanh(m/sqrt(rho' q)), log q, log V, log P)`` (so every
iterate satisfies m^2 < rho' q and q, V, P > 0); an extrapolation that raises the residual is undone and replaced
by a damped step, and the Anderson memory is cleared. If that fails, a second pass runs plain damped iteration with a smaller blend from the best iterate.
The residual is ``max_i |y_i(F(x)) - y_i(x)|`` in those coordinates: the relative change of q, V and P, and the
change of atanh(m / sqrt(rho' q)) (stricter than a relative change of m as m^2 -> rho' q).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import metrics
from . import validation as V
from .channels import channel_average, channel_hats
from .closed_forms import square_train_loss
from .errors import ConvergenceError
from .priors import box_level, class_moments, prior_overlaps, scalar_penalty
from .problem import Problem
from .trivial import zero_is_optimal

DEFAULT_INIT = (0.5, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class FixedPoint:
    """A solved point: order parameters, their conjugates, errors, and the evidence of convergence."""

    m: float
    q: float
    V: float
    P: float
    m_hat: float
    q_hat: float
    V_hat: float
    P_hat: float
    gen_error: float
    adv_error: float
    boundary_error: float
    train_error: float
    train_loss: float
    estimation_error: float
    attack_term: float          # eps * A(P): the margin shift during training
    test_attack_term: float     # eps_test * A_test(P_test)
    P_test: float
    converged: bool
    iterations: int
    residual: float
    seconds: float
    point: dict = field(default_factory=dict)
    trivial: bool = False       # the minimiser is w = 0 (see asymptotics.trivial)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def state(self):
        """(m, q, V, P), the warm start for a neighbouring point (None for the collapsed w = 0 solution)."""
        return None if self.trivial else (self.m, self.q, self.V, self.P)

    def __repr__(self) -> str:
        rows = [("m", self.m), ("q", self.q), ("V", self.V), ("P", self.P), ("m_hat", self.m_hat),
                ("q_hat", self.q_hat), ("V_hat", self.V_hat), ("P_hat", self.P_hat), ("gen_error", self.gen_error),
                ("adv_error", self.adv_error), ("boundary_error", self.boundary_error),
                ("train_error", self.train_error), ("train_loss", self.train_loss)]
        body = "\n".join(f"  {k:<15} {v: .8g}" for k, v in rows)
        status = "converged" if self.converged else "NOT converged"
        return (f"FixedPoint({self.point})\n{body}\n  {status} in {self.iterations} iterations, "
                f"residual {self.residual:.2e}, {self.seconds * 1e3:.1f} ms")


class _Collapsed(Exception):
    """The iteration reached q ~ 0: the minimiser is w = 0 to working precision."""


class _Map:
    """x -> F(x) for one problem; Anderson works in the coordinates of ``to_y``."""

    def __init__(self, problem: Problem, fast_paths: bool):
        self.pb = problem
        self.fast = fast_paths
        self.rho_eff = problem.rho_x + problem.data.tau ** 2
        self.calls = 0

    def to_y(self, x):
        """Unconstrained coordinates: (atanh(m / sqrt(rho' q)), log q, log V, log P); every y is a valid x."""
        m, q, Vv, P = x
        c = min(max(m / math.sqrt(self.rho_eff * q), -1.0 + 1e-15), 1.0 - 1e-15)
        return np.array([math.atanh(c), math.log(q), math.log(Vv), math.log(max(P, 1e-300))])

    def to_x(self, y):
        y = np.clip(y, -700.0, 700.0)
        q = math.exp(y[1])
        return (math.tanh(y[0]) * math.sqrt(self.rho_eff * q), q, math.exp(y[2]), math.exp(y[3]))

    def valid(self, x) -> bool:
        m, q, Vv, P = x
        return all(map(math.isfinite, x)) and q > 0 and Vv > 0 and m * m < self.rho_eff * q * (1 - 1e-13)

    def hats(self, x):
        pb = self.pb
        h = channel_hats(*x, alpha=pb.alpha, loss=pb.loss, eps=pb.eps, attack=pb.attack, rho_x=pb.rho_x,
                         tau=pb.data.tau, fast_paths=self.fast)
        return (h.m_hat, h.q_hat, h.V_hat, h.P_hat)

    def __call__(self, x):
        self.calls += 1
        hats = self.hats(x)
        if not all(map(math.isfinite, hats)) or hats[2] <= 0 or hats[1] < 0:
            raise FloatingPointError(f"invalid conjugates {hats}")
        m, q, Vv, P, _, _ = prior_overlaps(hats, self.pb.lam, self.pb.reg.r, self.pb.attack.dual_exponent,
                                           self.pb.spectra, fast_paths=self.fast)
        if 0.0 <= q < Q_COLLAPSED * self.rho_eff:
            raise _Collapsed()
        return (m, q, Vv, P)


ANDERSON_START = 1.0    # relative residual below which Anderson extrapolation is tried
Q_DIVERGED = 1e14       # q / rho beyond which the iteration is declared divergent (no finite minimiser)
Q_COLLAPSED = 1e-200    # q / rho below which w is zero to working precision (see _collapsed_result)
ANDERSON_MIXING = 1.0   # Anderson's own mixing parameter (the damped fallback uses `blend`)
ANDERSON_REJECT = 10.0  # an Anderson step that multiplies the residual by more than this is undone


def _iterate(F: _Map, x0, tol, max_iter, blend, memory, residuals):
    """Safeguarded Anderson (memory > 0) or damped (memory == 0) iteration. Returns (x, converged, best).

    Far from the fixed point (residual > ANDERSON_START) the steps are damped. An Anderson step whose result raises
    the residual more than twofold, or leaves the valid region, is undone: the iteration returns to the last
    accepted point, takes a damped step from there and clears the memory.
    """
    y = F.to_y(x0)
    x = x0
    dY, dG = [], []
    last = None            # (y, g, res) of the last accepted point
    extrapolated = False
    shrink = 1.0           # step scale after consecutive failures of the map
    beta = blend           # adaptive damping: halved when a damped step raises the residual (2-cycles)
    best = (math.inf, x0)
    for _ in range(max_iter):
        try:
            fx = F(x)
        except (FloatingPointError, ZeroDivisionError, ValueError, OverflowError):
            fx = None
        failed = fx is None or not F.valid(fx)
        if not failed:
            g = F.to_y(fx) - y
            res = float(np.max(np.abs(g)))
        else:
            res = math.inf
        if failed or (extrapolated and res > ANDERSON_REJECT * last[2]):
            if last is None:
                raise ConvergenceError("the fixed-point map failed at the initial point", last_iterate=x,
                                       residuals=residuals, hint="start from another init or a warm start")
            dY, dG = [], []
            if failed and not extrapolated:
                shrink *= 0.5
                if shrink < 1e-6:
                    break
            y = last[0] + shrink * beta * last[1]
            x = F.to_x(y)
            extrapolated = False
            continue
        shrink = min(1.0, 2.0 * shrink)
        if last is not None and not extrapolated:
            beta = max(0.5 * beta, 1e-3) if res > last[2] else min(blend, 1.25 * beta)
        residuals.append(res)
        if fx[1] > Q_DIVERGED * F.rho_eff:
            raise ConvergenceError("the overlaps diverge (q > 1e14 rho): the problem has no finite minimiser",
                                   last_iterate=dict(zip("mqVP", fx)), residuals=residuals,
                                   hint="a positive lam is needed on (robustly) separable data")
        if res < best[0]:
            best = (res, x)
        if res <= tol:
            return fx, True, best
        if memory and last is not None:
            dY.append(y - last[0])
            dG.append(g - last[1])
            if len(dY) > memory:
                dY.pop(0)
                dG.pop(0)
        last = (y, g, res)
        step = shrink * beta * g
        extrapolated = False
        if memory and dY and res < ANDERSON_START:
            Ym, Gm = np.array(dY).T, np.array(dG).T
            gamma, *_ = np.linalg.lstsq(Gm, g, rcond=None)
            mix = ANDERSON_MIXING
            step = mix * g - (Ym + mix * Gm) @ gamma
            extrapolated = True
        y_new = y + step
        x_new = F.to_x(y_new)
        if not F.valid(x_new):
            y_new = y + shrink * beta * g
            x_new = F.to_x(y_new)
            dY, dG = [], []
            extrapolated = False
        y, x = y_new, x_new
    return x, False, best


def solve(alpha, eps, lam, attack="linf", reg="l2", loss="logistic", data=None, eps_test=None, attack_test=None,
          *, init=None, tol=1e-8, max_iter=3000, blend=0.5, anderson=6, fast_paths=True) -> FixedPoint:
    """Solve the fixed-point equations of regularized adversarial ERM at one point.

    Parameters
    ----------
    alpha : float > 0
        Sample ratio n/d.
    eps : float >= 0
        Training attack size; the training margin is ``y w.x/sqrt(d) - eps A(w)`` (see ``geometry``).
    lam : float >= 0
        Regularization strength multiplying ``R(w) = sum|w_j|^r`` (no 1/r) or ``w^T Sigma_w w`` (no 1/2).
    attack : "linf" | "l2" | "l1" | "l<p>" | Attack
    reg : "l1" | "l2" | "l<r>" | Regularizer
    loss : "logistic" | "hinge" | "square" | "exponential" | Loss
    data : None | dict | DataModel
        rho (teacher norm), tau (probit noise), cov_x, cov_teacher (spectra or commuting matrices).
    eps_test, attack_test : test-time attack size and geometry (default: as in training).
    init : (m, q, V, P) warm start; tol : relative residual; max_iter; blend : damping in (0, 1];
    anderson : Anderson memory (0 for plain damped iteration); fast_paths : use closed forms where they exist.

    Returns
    -------
    FixedPoint

    Raises
    ------
    InvalidParameter (a ValueError) for bad input; ConvergenceError when no fixed point is found.

    Notes
    -----
    Equations, conventions and derivations: docs/derivations.md. Example::

        >>> fp = solve(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2")
        >>> round(fp.m, 3), round(fp.q, 3)
        (1.04, 2.294)
    """
    pb = Problem.from_point(alpha, eps, lam, attack, reg, loss, data, eps_test, attack_test)
    tol = V.positive("tol", tol)
    max_iter = V.integer("max_iter", max_iter, low=1)
    blend = V.real("blend", blend, low=0.0, high=1.0, low_open=True)
    anderson = V.integer("anderson", anderson, low=0)
    F = _Map(pb, fast_paths)
    if zero_is_optimal(pb):
        return _trivial_result(pb)
    x0 = _initial(pb, init, F)
    residuals: list[float] = []
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            x, ok, best = _iterate(F, x0, tol, max_iter, blend, anderson, residuals)
            if not ok:
                x, ok, best2 = _iterate(F, best[1], tol, max_iter, min(blend, 0.2), 0, residuals)
                best = min(best, best2, key=lambda b: b[0])
    except _Collapsed:
        return _trivial_result(pb, iterations=len(residuals), seconds=time.perf_counter() - start)
    if not ok:
        raise ConvergenceError(
            f"no fixed point at {pb.point()}", last_iterate=dict(zip("mqVP", best[1])), residuals=residuals,
            hint="warm-start from a neighbouring solution (sweep alpha downward), increase max_iter, or lower blend;"
                 " a vanishing lam on separable data has no finite minimiser")
    return _result(pb, F, x, residuals, time.perf_counter() - start)


def _trivial_result(pb: Problem, iterations=0, seconds=0.0) -> FixedPoint:
    """w = 0 (exactly, or q < 1e-200 rho): the zero predictor. sign(0) is taken as a coin flip, so every error is
    1/2 (continuous with the nearly collapsed solutions, whose clean and robust errors both tend to 1/2)."""
    nan = math.nan
    return FixedPoint(m=0.0, q=0.0, V=0.0, P=0.0, m_hat=nan, q_hat=nan, V_hat=nan, P_hat=nan, gen_error=0.5,
                      adv_error=0.5, boundary_error=0.0, train_error=0.5,
                      train_loss=float(pb.loss.value(0.0)), estimation_error=pb.rho_x, attack_term=0.0,
                      test_attack_term=0.0, P_test=0.0, converged=True, iterations=iterations, residual=0.0,
                      seconds=seconds, point=pb.point(), trivial=True)


def _initial(pb: Problem, init, F: _Map):
    if init is None:
        x = DEFAULT_INIT
        m, q, Vv, P = x
        return (min(m, 0.9 * math.sqrt(F.rho_eff * q)), q, Vv, P)
    if len(init) != 4:
        raise V.InvalidParameter("init", f"must be (m, q, V, P), got {init!r}")
    x = tuple(V.real(f"init[{i}]", v) for i, v in enumerate(init))
    if not F.valid(x):
        raise V.InvalidParameter("init", f"must satisfy q, V > 0 and m^2 < rho' q, got {x}")
    return x


def test_functional(pb: Problem, hats) -> float | None:
    """P_test: the test attack's functional of w at the fixed point; None when it equals P (same geometry)."""
    att, tst = pb.attack, pb.attack_test
    if tst == att and (att.covariance is None or np.array_equal(pb.spectra.b, pb.spectra.b_test)):
        return None
    ps = tst.dual_exponent
    if math.isinf(ps):
        return None  # both l1: the box level is P itself
    pen = scalar_penalty(hats, pb.lam, pb.reg.r, att.dual_exponent, pb.spectra)
    if math.isinf(att.dual_exponent):

        B = box_level(hats, pb.lam, pb.reg.r, pb.spectra)
        pen = scalar_penalty(hats[:3] + (0.0,), pb.lam, pb.reg.r, 2.0, pb.spectra, box=B)
    mom = class_moments(pen, (ps,))
    moment = mom.w2 if ps == 2.0 else mom.abs_pow[ps]
    return float(np.sum(pb.spectra.weight * pb.spectra.b_test * moment))


def _result(pb: Problem, F: _Map, x, residuals, seconds) -> FixedPoint:
    m, q, Vv, P = x
    hats = F.hats(x)
    g = pb.eps * pb.attack.term(P) if pb.eps > 0 else 0.0
    P_test = test_functional(pb, hats)
    if P_test is None:
        P_test = P
    g_test = pb.eps_test * pb.attack_test.term(P_test) if pb.eps_test > 0 else 0.0
    rho, tau = pb.rho_x, pb.data.tau
    gen = metrics.gen_error(m, q, rho, tau)
    adv = metrics.adv_error(m, q, g_test, rho, tau)
    train_err = metrics.margin_cdf(g + Vv * pb.loss.slope_at_zero, m, q, rho, tau)
    if pb.loss.name == "square":
        train_loss = square_train_loss(m, q, Vv, g, rho + tau * tau)
    else:
        train_loss = channel_average(pb.loss.value, m, q, Vv, P, loss=pb.loss, eps=pb.eps, attack=pb.attack,
                                     rho_x=rho, tau=tau)
    values = dict(m=m, q=q, V=Vv, P=P, m_hat=hats[0], q_hat=hats[1], V_hat=hats[2], P_hat=hats[3],
                  gen_error=gen, adv_error=adv, boundary_error=adv - gen, train_error=train_err,
                  train_loss=train_loss, estimation_error=metrics.estimation_error(m, q, rho),
                  attack_term=g, test_attack_term=g_test, P_test=P_test)
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise ConvergenceError(f"non-finite {bad} at {pb.point()}", last_iterate=values, residuals=residuals)
    return FixedPoint(**values, converged=True, iterations=len(residuals), residual=residuals[-1],
                      seconds=seconds, point=pb.point())
