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
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from . import metrics
from . import validation as V
from .channel_jacobian import channel_jacobian
from .channels import channel_average, channel_hats
from .closed_forms import square_train_loss
from .errors import ConvergenceError
from .priors import box_level, class_moments, prior_overlaps, scalar_penalty
from .problem import Problem
from .trivial import ZeroTest, zero_is_optimal, zero_test

DEFAULT_INIT = (0.5, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class FixedPoint:
    """A solved point: order parameters, their conjugates, errors, and the evidence of convergence.

    Returned by :func:`solve`. Conventions (docs/conventions.md): ``m = w^T Sigma_x theta/d``, ``q = w^T Sigma_x w/d``,
    ``P = ||w||_{p*}^{p*}/d`` (lp attack) or ``w^T Sigma_delta w/d`` (Mahalanobis), ``V`` the response; errors are
    probabilities in [0, 1] and ``boundary_error = adv_error - gen_error``.

    Attributes
    ----------
    m, q, V, P : float
        Order parameters (overlap with the teacher, self-overlap, response, attack functional).
    m_hat, q_hat, V_hat, P_hat : float
        Their conjugates.
    gen_error : float
        Clean test error ``P(y sign(w.x) < 0)``.
    adv_error : float
        Robust test error against the test-time attack.
    boundary_error : float
        ``adv_error - gen_error``.
    train_error, train_loss : float
        Robust training error (a probability) and mean training loss.
    estimation_error : float
        ``E||w/||w|| - theta/||theta|| ||^2`` in order parameters.
    attack_term, test_attack_term : float
        ``eps A(P)`` (the training margin shift) and ``eps_test A_test(P_test)``.
    P_test : float
        The attack functional of the test-time attack geometry.
    converged : bool
        True for every returned point (a solve that does not converge raises ``ConvergenceError``).
    iterations : int
        Iterations of the successful attempt.
    residual : float
        Final residual.
    seconds : float
        Wall time.
    point : dict
        The inputs, so that a result explains itself.
    trivial : bool
        The minimiser is w = 0, certified by the exact zero test.
    certificate : dict
        How the point was found and checked (see :func:`solve` and docs/certificate.md).

    Examples
    --------
    >>> import asymptotics
    >>> fp = asymptotics.solve(alpha=1.0, eps=0.1, lam=0.1)
    >>> bool(fp.boundary_error == fp.adv_error - fp.gen_error), fp.converged
    (True, True)
    """

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
    trivial: bool = False       # the minimiser is w = 0, certified by the exact zero test (asymptotics.trivial)
    certificate: dict = field(default_factory=dict)   # how the point was found and checked (see ``solve``)

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
                f"residual {self.residual:.2e}, {self.seconds * 1e3:.1f} ms\n  {self.certificate_summary()}")

    def certificate_summary(self) -> str:
        """One line: how the point was found and the zero test's verdict (see ``solve``)."""
        c = self.certificate
        if not c:
            return "certificate: none (a record from before certified solves)"
        z = c["zero_test"]
        lhs = "inf" if z["lhs"] is None else f"{z['lhs']:.4g}"
        if self.trivial and z["verdict"] == "exact":
            how = f"w = 0 by the exact first-order test (subgradient norm {lhs} <= attack radius {z['rhs']:.4g})"
        elif self.trivial:
            how = (f"w = 0 to working precision (q <= 1e{z['q_bound_log10']:.0f} rho'; a fraction "
                   f"1e{z['active_log10']:.0f} of the coordinates can be active; the exact test gives {lhs} > "
                   f"{z['rhs']:.4g})")
        else:
            how = (f"found by a {c['method']} solve, residual {c['residual']:.2e} <= tol {c['tol']:.0e}, "
                   f"{c['attempts']} attempt(s); w = 0 excluded (subgradient norm {lhs} > radius {z['rhs']:.4g})")
        return "certificate: " + how


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
        if not all(map(math.isfinite, hats)) or hats[2] < 0 or hats[1] < 0:
            raise FloatingPointError(f"invalid conjugates {hats}")
        m, q, Vv, P, _, _ = prior_overlaps(hats, self.pb.lam, self.pb.reg.r, self.pb.attack.dual_exponent,
                                           self.pb.spectra, fast_paths=self.fast)
        if 0.0 <= q < Q_COLLAPSED * self.rho_eff:
            raise _Collapsed()
        return (m, q, Vv, P)


ANDERSON_START = 1.0    # relative residual below which Anderson extrapolation is tried
Q_DIVERGED = 1e14       # q / rho beyond which an iterate counts as divergent
Q_COLLAPSED = 1e-200    # q / rho below which an iterate has collapsed to w = 0 (a failed step unless certified)
ANDERSON_MIXING = 1.0   # Anderson's own mixing parameter (the damped fallback uses `blend`)
ANDERSON_REJECT = 10.0  # an Anderson step that multiplies the residual by more than this is undone
SHRINK_FLOOR = 1e-6     # consecutive failed steps halve the step down to this scale, then the attempt is abandoned
RESTART_ITER = 1500     # iteration budget of each restart and of each continuation stage
CONTINUATION_STAGES = 8 # stages of a continuation path (each may be split once more if it fails)
STALL_WINDOW = 150      # an attempt whose best residual has not halved in this many accepted steps is abandoned
NEWTON_FROM = 0.01      # residual below which Newton steps replace Anderson's (solve(..., newton=True))
NEWTON_STEP = 1e-7      # relative forward-difference step of Newton's Jacobian (error ~1e-8: docs/sensitivities.md)
NEWTON_REFRESH = 0.1    # a Newton step that cuts the residual less than tenfold triggers a fresh Jacobian
NEWTON_JACOBIANS = 4    # Jacobians per attempt at most (then the chord steps or Anderson finish)
NEWTON_MAX_STEP = 1.0   # a Newton step longer than this (max |dy|, I - J nearly singular) is not taken


@dataclass
class _Attempt:
    """The outcome of one run of the safeguarded iteration from one start."""

    x: tuple
    converged: bool
    best: tuple                       # (residual, x) of the best accepted iterate
    collapsed: int = 0                # map evaluations that collapsed to q ~ 0 (treated as failed steps)
    diverged: int = 0                 # map evaluations with q > Q_DIVERGED rho (treated as failed steps)
    failed: int = 0                   # other failed evaluations (non-finite conjugates, ...)
    stopped_diverging: bool = False   # abandoned because q blew up with lam = 0 (no finite minimiser, likely)
    newton_steps: int = 0             # accepted Newton steps
    jacobians: int = 0                # forward-difference Jacobians computed (4 map evaluations each)


def _forward_jacobian(F: "_Map", y, gy):
    """dG/dy at y (G = to_y o F o to_x, gy = G(y)): the channel's closed-form Jacobian composed with the prior's by
    forward differences where the loss has one (``channel_jacobian``), else forward differences of the map; None
    where the map fails nearby."""
    J = _composed_jacobian(F, y)
    if J is not None:
        return J
    J = np.empty((4, 4))
    for j in range(4):
        yj = np.array(y, dtype=np.float64)
        yj[j] += NEWTON_STEP
        try:
            fx = F(F.to_x(yj))
        except (_Collapsed, FloatingPointError, ZeroDivisionError, ValueError, OverflowError):
            return None
        if not F.valid(fx):
            return None
        J[:, j] = (F.to_y(fx) - gy) / NEWTON_STEP
    return J if np.all(np.isfinite(J)) else None


def _composed_jacobian(F: "_Map", y):
    """J = dy'/dx' . dPrior/dhats . dChannel/dx . dx/dy (docs/sensitivities.md), or None without a closed-form
    channel Jacobian or where the prior fails."""
    pb = F.pb
    x = F.to_x(y)
    try:
        found = channel_jacobian(*x, alpha=pb.alpha, loss=pb.loss, eps=pb.eps, attack=pb.attack, rho_x=pb.rho_x,
                                 tau=pb.data.tau, fast_paths=F.fast)
        if found is None:
            return None
        F.calls += 1
        hats, C, _, _ = found

        def prior(h):
            return np.array(prior_overlaps(tuple(h), pb.lam, pb.reg.r, pb.attack.dual_exponent, pb.spectra,
                                           fast_paths=F.fast)[:4])

        x1 = prior(hats)
        Pj = np.zeros((4, 4))
        for j in range(4):
            if hats[j] > 0:
                h = hats.copy()
                step = NEWTON_STEP * hats[j]
                h[j] += step
                Pj[:, j] = (prior(h) - x1) / step
        m1, q1, V1, P1 = x1
        m, q = x[0], x[1]
        root1, root = math.sqrt(F.rho_eff * q1), math.sqrt(F.rho_eff * q)
        c1 = m1 / root1
        T = np.diag([1.0 / ((1.0 - c1 * c1) * root1), 1.0 / q1, 1.0 / V1, 1.0 / max(P1, 1e-300)])
        T[0, 1] = -c1 / (2.0 * q1 * (1.0 - c1 * c1))
        X = np.diag([(1.0 - math.tanh(y[0]) ** 2) * root, q, x[2], x[3]])
        X[0, 1] = 0.5 * m
        J = T @ Pj @ C @ X
    except (FloatingPointError, ZeroDivisionError, ValueError, OverflowError):
        return None
    return J if np.all(np.isfinite(J)) else None


def _iterate(F: _Map, x0, tol, max_iter, blend, memory, residuals, newton=False) -> _Attempt:
    """Safeguarded Anderson (memory > 0) or damped (memory == 0) iteration from ``x0``, finished by Newton's method
    when ``newton``.

    Far from the fixed point (residual > ANDERSON_START) the steps are damped. A step whose map evaluation fails
    (non-finite conjugates, an iterate that collapses to q ~ 0 or blows up past q = 1e14 rho), or an Anderson step
    that multiplies the residual more than tenfold, is undone: the iteration returns to the last accepted point,
    takes a damped step of half the previous scale from there and clears the Anderson memory. An attempt whose
    residual has not halved in STALL_WINDOW accepted steps is abandoned. A collapse is never
    taken as the answer here: w = 0 is returned only by ``solve`` when the exact zero test certifies it.

    With ``newton``, once the residual is below NEWTON_FROM the step is Newton's, dy = (I - J)^{-1} (G(y) - y), with
    J = dG/dy by forward differences (4 map evaluations), reused (chord steps) while each step cuts the residual
    tenfold. A Newton step that does not lower the residual (or whose map evaluation fails) is undone like a failed
    Anderson step and Newton is switched off for the rest of the attempt; the stopping test is unchanged.
    """
    y = F.to_y(x0)
    x = x0
    dY, dG = [], []
    last = None            # (y, g, res) of the last accepted point
    extrapolated = False
    shrink = 1.0           # step scale after consecutive failures of the map
    beta = blend           # adaptive damping: halved when a damped step raises the residual (2-cycles)
    out = _Attempt(x0, False, (math.inf, x0))
    progress_mark = (math.inf, len(residuals))   # (residual, step) of the last halving of the residual
    J = None               # Newton's Jacobian (chord steps reuse it)
    newton_step = False    # the pending step is Newton's
    newton_off = not newton
    for _ in range(max_iter):
        fx, reason = None, "failed"
        try:
            fx = F(x)
        except _Collapsed:
            reason = "collapsed"
        except (FloatingPointError, ZeroDivisionError, ValueError, OverflowError):
            pass
        if fx is not None and F.valid(fx) and fx[1] > Q_DIVERGED * F.rho_eff:
            fx, reason = None, "diverged"
            if F.pb.lam == 0:   # unregularized: divergence is what separable data do; stop this start here
                out.diverged += 1
                out.stopped_diverging = True
                return out
        failed = fx is None or not F.valid(fx)
        if failed:
            setattr(out, reason, getattr(out, reason) + 1)
            res = math.inf
        else:
            g = F.to_y(fx) - y
            res = float(np.max(np.abs(g)))
        if failed or (extrapolated and res > ANDERSON_REJECT * last[2]) or (newton_step and res >= last[2]):
            if last is None:
                return out     # the map fails at the start itself: let the caller try another start
            dY, dG = [], []
            if newton_step:
                newton_off, J = True, None     # Newton does not help from here: Anderson finishes the attempt
            elif failed and not extrapolated:
                shrink *= 0.5
                if shrink < SHRINK_FLOOR:
                    break
            y = last[0] + shrink * beta * last[1]
            x = F.to_x(y)
            extrapolated = newton_step = False
            continue
        shrink = min(1.0, 2.0 * shrink)
        if last is not None and not extrapolated and not newton_step:
            beta = max(0.5 * beta, 1e-3) if res > last[2] else min(blend, 1.25 * beta)
        out.newton_steps += newton_step
        residuals.append(res)
        if res < out.best[0]:
            out.best = (res, x)
        if res <= 0.5 * progress_mark[0]:
            progress_mark = (res, len(residuals))
        elif len(residuals) - progress_mark[1] > STALL_WINDOW:
            break              # stalled (a neutral direction, a 2-cycle): another start or path does better
        if res <= tol:
            out.x, out.converged = fx, True
            return out
        if memory and last is not None:
            dY.append(y - last[0])
            dG.append(g - last[1])
            if len(dY) > memory:
                dY.pop(0)
                dG.pop(0)
        if newton_step and res > NEWTON_REFRESH * last[2]:
            J = None           # the chord step contracted poorly: a fresh Jacobian for the next one
        last = (y, g, res)
        step = shrink * beta * g
        extrapolated = newton_step = False
        if not newton_off and res < NEWTON_FROM:
            if J is None and out.jacobians < NEWTON_JACOBIANS:
                J = _forward_jacobian(F, y, y + g)
                out.jacobians += 1
            if J is not None:
                try:
                    delta = np.linalg.solve(np.eye(4) - J, g)
                except np.linalg.LinAlgError:
                    delta = None
                if delta is not None and np.all(np.isfinite(delta)) and np.max(np.abs(delta)) <= NEWTON_MAX_STEP:
                    step, newton_step = delta, True
                else:
                    newton_off, J = True, None
        if not newton_step and memory and dY and res < ANDERSON_START:
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
            extrapolated = newton_step = False
        y, x = y_new, x_new
    out.x = x
    return out


def _run(F: _Map, x0, tol, max_iter, blend, memory, residuals, newton=False) -> _Attempt:
    """Anderson from ``x0``; if it stalls, plain damped iteration with a smaller blend from its best iterate."""
    first = _iterate(F, x0, tol, max_iter, blend, memory, residuals, newton)
    if first.converged or first.stopped_diverging or not math.isfinite(first.best[0]):
        return first
    second = _iterate(F, first.best[1], tol, max_iter, min(blend, 0.2), 0, residuals, newton)
    for name in ("collapsed", "diverged", "failed", "newton_steps", "jacobians"):
        setattr(second, name, getattr(first, name) + getattr(second, name))
    if not second.converged:
        second.best = min(first.best, second.best, key=lambda b: b[0])
    return second


def dispersed_starts(pb: Problem) -> list[tuple]:
    """Four starts (m, q, V, P) spread over four decades of q and two of V, with m inside m^2 < rho' q; at small lam
    (< LAM_PATH_FROM) two more whose response V is 1 / lam and 0.1 / lam, the scale it reaches there (V grows like
    1 / lam as lam -> 0), which no fixed start comes near.

    P is set to the value a Gaussian w of variance q would give (q^{p*/2}, or sqrt(q) for the box of an l1 attack):
    the iteration only needs a positive, roughly scaled P.
    """
    rho_eff = pb.rho_x + pb.data.tau ** 2
    ps = pb.attack.dual_exponent
    spread = [(0.9, 10.0, 10.0), (0.3, 0.1, 0.1), (0.7, 100.0, 1.0), (0.2, 0.01, 10.0)]
    if 0 < pb.lam < LAM_PATH_FROM:
        spread += [(0.3, 1.0, 1.0 / pb.lam), (0.3, 1.0, 0.1 / pb.lam)]
    starts = []
    for c, q, v in spread:
        q = q * rho_eff
        P = math.sqrt(q) if math.isinf(ps) else q ** (ps / 2.0)
        starts.append((c * math.sqrt(rho_eff * q), q, v, P))
    return starts


NEWTON_DEFAULT = False    # solve(..., newton=...) default (benchmarks/bench_newton_fixed_point.py)
LAM_PATH_FROM = 0.1       # small lam is reached from this lam down (V and q grow like powers of 1/lam on the way)
LAM_STAGES_PER_DECADE = 3


def continuation_paths(pb: Problem, stages: int = CONTINUATION_STAGES) -> list[tuple[str, list[float]]]:
    """The homotopies tried, in order, when every start fails. Each is (parameter, values ending at the target).

    * small lam (< LAM_PATH_FROM): lam from LAM_PATH_FROM down to its value, three stages per decade. At small lam
      the response V grows like 1/lam and q like a power of 1/lam on separable data, far from any fixed start; each
      stage's fixed point is a close warm start for the next;
    * eps > 0: eps from 0 up to its value (the attack switched on gradually);
    * eps = 0, larger lam: lam towards its value from 100x further from collapse (from lam / 100 up for an l1
      regularizer, whose large lam gives w = 0; from 100 lam down otherwise).
    """
    paths = []
    if 0 < pb.lam < LAM_PATH_FROM:
        decades = math.log10(LAM_PATH_FROM / pb.lam)
        n = max(stages, math.ceil(LAM_STAGES_PER_DECADE * decades))
        paths.append(("lam", list(pb.lam * np.logspace(decades, 0.0, n + 1))))
    if pb.eps > 0:
        paths.append(("eps", [pb.eps * k / stages for k in range(stages + 1)]))
    elif pb.lam >= LAM_PATH_FROM:
        start = -2.0 if pb.reg.r == 1.0 else 2.0
        paths.append(("lam", list(pb.lam * np.logspace(start, 0.0, stages + 1))))
    return paths


def _with(pb: Problem, name: str, value: float) -> Problem:
    """The problem with one scalar parameter replaced (eps also moves eps_test when they were equal)."""
    changes = {name: value}
    if name == "eps" and pb.eps_test == pb.eps:
        changes["eps_test"] = value
    return replace(pb, **changes)


def _continue(pb: Problem, fast_paths, tol, max_iter, blend, memory, residuals, stats, newton=False):
    """Follow each of ``continuation_paths`` with warm starts until one reaches the target. Returns (F, state) at
    the target or None.

    Each stage starts from the previous stage's fixed point; if that fails, the step is halved once (the midpoint
    first); if that fails too, the stage starts cold (two starts). Only the target itself must converge."""
    for name, values in continuation_paths(pb):
        state = _follow(pb, name, values, fast_paths, tol, max_iter, blend, memory, residuals, stats, newton)
        if state is not None:
            return _Map(pb, fast_paths), state
    return None


def _follow(pb, name, values, fast_paths, tol, max_iter, blend, memory, residuals, stats, newton=False):
    """One continuation path: the fixed point at its last value (the target), or None."""

    def attempt(value, starts):
        stage = _with(pb, name, value)
        if zero_is_optimal(stage):
            return None               # w = 0 here: no warm start to pass on
        Fs = _Map(stage, fast_paths)
        for x0 in starts(stage, Fs):
            run = _run(Fs, x0, tol, max_iter, blend, memory, residuals, newton)
            stats.absorb(run, at_target=False)
            if run.converged:
                return run.x
        return None

    def cold(stage, Fs):
        # two starts, not five: the path is the fallback, its cost must stay bounded
        return [_initial(stage, None, Fs), dispersed_starts(stage)[0]]

    state, previous = None, values[0]
    for value in values:
        found = None
        if state is not None:
            warm = state
            found = attempt(value, lambda stage, Fs: [warm])
            if found is None:
                middle = attempt(0.5 * (previous + value), lambda stage, Fs: [warm])
                if middle is not None:
                    found = attempt(value, lambda stage, Fs: [middle])
        if found is None:
            found = attempt(value, cold)
        state, previous = found, value
    return state


class _Stats:
    """Counts over every attempt of one solve, for the certificate and the diagnostics of a failure."""

    def __init__(self):
        self.attempts = 0
        self.collapsed = 0
        self.diverged = 0
        self.failed = 0
        self.newton_steps = 0
        self.jacobians = 0
        self.all_diverged = True
        self.best = (math.inf, None)

    def absorb(self, attempt: _Attempt, at_target: bool = True):
        """Count one attempt; its best iterate counts only if it solved the target problem (not a stage)."""
        self.attempts += 1
        self.collapsed += attempt.collapsed
        self.diverged += attempt.diverged
        self.failed += attempt.failed
        self.newton_steps += attempt.newton_steps
        self.jacobians += attempt.jacobians
        self.all_diverged &= attempt.stopped_diverging
        if at_target and attempt.best[0] < self.best[0]:
            self.best = attempt.best

    def to_dict(self) -> dict:
        return {"attempts": self.attempts, "collapsed_steps": self.collapsed, "diverged_steps": self.diverged,
                "failed_steps": self.failed, "newton_steps": self.newton_steps, "jacobians": self.jacobians}


def solve(alpha, eps, lam, attack="linf", reg="l2", loss="logistic", data=None, eps_test=None, attack_test=None,
          *, init=None, tol=1e-8, max_iter=3000, blend=0.5, anderson=6, fast_paths=True,
          strategy="auto", newton=NEWTON_DEFAULT) -> FixedPoint:
    """Solve the fixed-point equations of regularized adversarial ERM at one point, with a certificate.

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
    init : (m, q, V, P) warm start (finite, q, V, P > 0, m^2 < (rho_x + tau^2) q).
    tol : residual tolerance (relative change of q, V, P and change of atanh(m / sqrt(rho' q))).
    max_iter : int
        Iteration budget of the first attempt.
    blend : float
        Damping in (0, 1].
    anderson : int
        Anderson memory (0 for plain damped iteration).
    fast_paths : bool
        Use closed forms where they exist.
    strategy : "auto" (the start, then dispersed restarts, then continuation) or "continuation" (the continuation
        path only; a second, independent route to the same fixed point, used by the tests).
    newton : bool
        Finish the iteration by Newton's method once the residual is below 0.01 (Jacobian of the map: the channel's
        in closed form composed with the prior's by forward differences, or forward differences of the map; reused
        while it contracts; Anderson's safeguards unchanged: a Newton step that does not lower the residual is
        undone and Anderson finishes). The stopping test and the certificate's meaning are the same. Default False:
        measured no faster than Anderson on warm and cold points (benchmarks/bench_newton_fixed_point.py).

    Returns
    -------
    FixedPoint
        With ``certificate``: ``method`` ("zero-test", "cold", "warm", "restart" or "continuation"), the final
        ``residual`` and ``tol``, the exact zero test's verdict (``zero_test``: optimal, lhs, rhs; lhs None when it is
        infinite) and counts of the attempts, of the failed steps on the way, and of the Newton steps and Jacobians
        (``newton_steps``, ``jacobians``; 0 without ``newton``).

    Raises
    ------
    InvalidParameter (a ValueError) for bad input; ConvergenceError when no start and no continuation path
    converges (its ``diagnostics`` hold the certificate-style counts and the best residual reached).

    Notes
    -----
    The collapsed solution w = 0 is returned only when the exact first-order condition certifies it
    (``asymptotics.trivial.zero_test``); an iterate that collapses to q ~ 0 otherwise is a failed step (undone,
    damped, Anderson memory cleared), then a failed start. The ERM is convex, so the fixed point is unique: every
    start that converges gives the same point. Equations: docs/derivations.md; the certificate: docs/certificate.md.

    Examples
    --------
    >>> fp = solve(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2")
    >>> round(fp.m, 3), round(fp.q, 3), fp.certificate["method"]
    (1.041, 2.294, 'cold')
    """
    pb = Problem.from_point(alpha, eps, lam, attack, reg, loss, data, eps_test, attack_test)
    tol = V.positive("tol", tol)
    max_iter = V.integer("max_iter", max_iter, low=1)
    blend = V.real("blend", blend, low=0.0, high=1.0, low_open=True)
    anderson = V.integer("anderson", anderson, low=0)
    strategy = V.choice("strategy", strategy, ("auto", "continuation"))
    if not isinstance(newton, (bool, np.bool_)):
        raise V.InvalidParameter("newton", f"must be True or False, got {newton!r}")
    newton = bool(newton)
    F = _Map(pb, fast_paths)
    x0 = _initial(pb, init, F)
    start = time.perf_counter()
    zero = zero_test(pb)
    if zero.optimal:
        return _trivial_result(pb, _certificate("zero-test", 0.0, tol, zero, _Stats()))
    residuals: list[float] = []
    stats = _Stats()
    with np.errstate(all="ignore"):
        if strategy == "auto":
            first = "cold" if init is None else "warm"
            restart_iter = min(max_iter, RESTART_ITER)
            plan = [(first, x0, max_iter)] + [("restart", s, restart_iter) for s in dispersed_starts(pb)]
            for method, xs, budget in plan:
                attempt = _run(F, xs, tol, budget, blend, anderson, residuals, newton)
                stats.absorb(attempt)
                if attempt.converged:
                    cert = _certificate(method, residuals[-1], tol, zero, stats)
                    return _result(pb, F, attempt.x, residuals, time.perf_counter() - start, cert)
            if pb.lam == 0 and stats.all_diverged:
                raise ConvergenceError(
                    "the overlaps diverge (q > 1e14 rho) from every start: the problem has no finite minimiser",
                    last_iterate=None if stats.best[1] is None else dict(zip("mqVP", stats.best[1])),
                    residuals=residuals, hint="a positive lam is needed on (robustly) separable data",
                    diagnostics=_diagnostics(zero, stats))
        found = _continue(pb, fast_paths, tol, min(max_iter, RESTART_ITER), blend, anderson, residuals, stats, newton)
        if found is not None:
            attempt = _run(F, found[1], tol, max_iter, blend, anderson, residuals, newton)
            stats.absorb(attempt)
            if attempt.converged:
                cert = _certificate("continuation", residuals[-1], tol, zero, stats)
                return _result(pb, F, attempt.x, residuals, time.perf_counter() - start, cert)
    raise ConvergenceError(
        f"no fixed point at {pb.point()} from {stats.attempts} starts and a continuation path",
        last_iterate=None if stats.best[1] is None else dict(zip("mqVP", stats.best[1])), residuals=residuals,
        hint=_failure_hint(pb, zero), diagnostics=_diagnostics(zero, stats))


NEAR_COLLAPSE_LOG10 = -15.0   # active fractions below this, without curvature at 0, get their own diagnosis


def _failure_hint(pb: Problem, zero: ZeroTest) -> str:
    """What a ConvergenceError tells the user to do, with the right diagnosis of a near-collapsed point."""
    if not zero.optimal and zero.active_log10 < NEAR_COLLAPSE_LOG10 and not math.isfinite(zero.q_bound_log10):
        f = zero.active_log10
        return (f"a fraction 1e{f:.0f} of the coordinates can be active and the {pb.loss.name} loss has no curvature "
                f"at 0, so w = 0 cannot be certified (the limit minimiser keeps q > 0 on those coordinates, in Gaussian "
                f"tails beyond the quadrature); a finite-d ERM at any d << 1e{-f:.0f} returns w = 0 with probability "
                f">= 1 - d 1e{f:.0f}, the finite-d zero test (asymptotics.trivial)")
    return ("warm-start from a neighbouring solution (sweep alpha downward), increase max_iter, or lower blend;"
            " a vanishing lam on separable data has no finite minimiser")


def _certificate(method: str, residual: float, tol: float, zero: ZeroTest, stats: _Stats) -> dict:
    return {"method": method, "residual": float(residual), "tol": float(tol), "zero_test": zero.to_dict(),
            **stats.to_dict()}


def _diagnostics(zero: ZeroTest, stats: _Stats) -> dict:
    return {"zero_test": zero.to_dict(), "best_residual": stats.best[0], **stats.to_dict()}


def _trivial_result(pb: Problem, certificate: dict) -> FixedPoint:
    """w = 0, certified by the exact first-order test: the zero predictor. sign(0) is taken as a coin flip, so
    every error is 1/2 (continuous with the nearly collapsed solutions, whose clean and robust errors tend to 1/2)."""
    nan = math.nan
    return FixedPoint(m=0.0, q=0.0, V=0.0, P=0.0, m_hat=nan, q_hat=nan, V_hat=nan, P_hat=nan, gen_error=0.5,
                      adv_error=0.5, boundary_error=0.0, train_error=0.5,
                      train_loss=float(pb.loss.value(0.0)), estimation_error=pb.rho_x, attack_term=0.0,
                      test_attack_term=0.0, P_test=0.0, converged=True, iterations=0, residual=0.0,
                      seconds=0.0, point=pb.point(), trivial=True, certificate=certificate)


def _initial(pb: Problem, init, F: _Map):
    if init is None:
        m, q, Vv, P = DEFAULT_INIT
        return (min(m, 0.9 * math.sqrt(F.rho_eff * q)), q, Vv, P)
    if isinstance(init, (str, bytes)) or not hasattr(init, "__len__") or len(init) != 4:
        raise V.InvalidParameter("init", f"must be a sequence (m, q, V, P), got {init!r}")
    m, q, Vv, P = (V.real(f"init[{i}]", v) for i, v in enumerate(init))
    for i, (name, v) in enumerate((("q", q), ("V", Vv), ("P", P)), start=1):
        if not v > 0:
            raise V.InvalidParameter(f"init[{i}]", f"{name} must be > 0, got {v!r}")
    if not m * m < F.rho_eff * q * (1 - 1e-13):
        raise V.InvalidParameter("init[0]", f"m must satisfy m^2 < (rho_x + tau^2) q = {F.rho_eff * q:.6g}, got {m!r}")
    return (m, q, Vv, P)


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


def _result(pb: Problem, F: _Map, x, residuals, seconds, certificate: dict) -> FixedPoint:
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
        raise ConvergenceError(f"non-finite {bad} at {pb.point()}", last_iterate=values, residuals=residuals,
                               diagnostics={"certificate": certificate})
    return FixedPoint(**values, converged=True, iterations=len(residuals), residual=residuals[-1],
                      seconds=seconds, point=pb.point(), certificate=certificate)
