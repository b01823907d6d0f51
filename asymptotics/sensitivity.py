"""Derivatives of a solved fixed point with respect to the problem's parameters (implicit differentiation).

At a fixed point ``x* = F(x*; theta)`` of the state-evolution map (``fixed_point._Map``: channel then prior), the
implicit function theorem gives

    dx*/dtheta = (I - dF/dx)^{-1} dF/dtheta,

and every observable ``O(x, theta)`` (conjugates, errors, training loss; ``fixed_point._result``) has the total
derivative ``dO/dtheta = dO/dx . dx*/dtheta + dO/dtheta|_x`` (the direct term: eps_test enters only the error
formula, eps enters both the map and the errors). The linear algebra runs in the unconstrained coordinates of the
solver, ``y = (atanh(m / sqrt(rho' q)), log q, log V, log P)`` with rho' = rho_x + tau^2 frozen at the point, where
every component is O(1):

    dy/dtheta = (I - J)^{-1} dG/dtheta,   G(y) = y(F(x(y))),  J = dG/dy,

and ``dO/dtheta`` is the derivative of ``s -> O(y* + s dy/dtheta, theta + s)`` at s = 0 (one directional derivative
per parameter, which contains both terms). ``J``, ``dG/dtheta`` and the directional derivatives are computed by a
difference scheme on the map, never by re-solving (``asymptotics.differences``: central differences
Richardson-extrapolated, step 2e-3 in y, error ~1e-11; one-sided at the edge of a parameter's domain). Derivation and
measured accuracy: docs/sensitivities.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from . import differences
from . import validation as V
from .channel_jacobian import channel_jacobian
from .errors import ConvergenceError, InvalidParameter
from .fixed_point import FixedPoint, _Collapsed, _Map, _result, _trivial_result, _with
from .priors import prior_overlaps
from .problem import Problem
from .regularizers import Regularizer
from .trivial import zero_test

PARAMETERS = ("alpha", "eps", "lam", "r", "eps_test", "tau", "rho")
OBSERVABLES = ("m", "q", "V", "P", "m_hat", "q_hat", "V_hat", "P_hat", "gen_error", "adv_error", "boundary_error",
               "train_error", "train_loss", "estimation_error", "attack_term", "test_attack_term", "P_test")
# parameter -> (lower end of its domain, floor of the step's scale); steps are h * max(|theta|, floor)
_DOMAIN = {"alpha": (0.0, 0.0), "eps": (0.0, 0.1), "lam": (0.0, 1e-3), "r": (1.0, 1.0), "eps_test": (0.0, 0.1),
           "tau": (0.0, 0.1), "rho": (0.0, 0.0)}
CONDITION_MAX = 1e10      # beyond this, I - J is numerically singular for a Jacobian accurate to ~1e-11
RESIDUAL_MAX = 1e-5       # a FixedPoint whose map residual exceeds this does not solve the reconstructed problem


class SingularPoint(ConvergenceError):
    """The derivatives of a fixed point do not exist or cannot be computed there (a ConvergenceError).

    Raised by :func:`sensitivities` when I - dF/dx is numerically singular (condition number above 1e10: a phase
    transition), when the map fails one difference step away from the point, or when a collapsed w = 0 solution
    sits on the edge of the region where the zero test certifies it (the derivatives jump there).

    Parameters
    ----------
    message : str
        What is singular, at which point.
    last_iterate : dict, optional
        Unused here (kept from ConvergenceError).
    residuals : list of float, optional
        Unused here (kept from ConvergenceError).
    hint : str, optional
        What to try (move the point slightly, a smaller step).
    diagnostics : dict, optional
        ``condition`` (of I - dF/dx) and ``jacobian`` where available, or the parameter and step at the edge of
        the collapsed region.

    Attributes
    ----------
    last_iterate, residuals, hint, diagnostics
        As given.

    Examples
    --------
    >>> from asymptotics import ConvergenceError, SingularPoint
    >>> err = SingularPoint("I - dF/dx is singular", diagnostics={"condition": 3e12})
    >>> isinstance(err, ConvergenceError), err.diagnostics["condition"]
    (True, 3000000000000.0)
    """


@dataclass(frozen=True)
class Sensitivities:
    """Derivatives of the observables of one fixed point with respect to the problem's parameters.

    Attributes
    ----------
    derivatives : dict
        ``{parameter: {observable: d observable / d parameter}}`` (``OBSERVABLES``; NaN for the conjugates of a
        collapsed w = 0 solution, where they are undefined).
    condition : float
        The 2-norm condition number of ``I - J`` (J = dG/dy in the solver's coordinates); NaN for w = 0. The
        derivatives' relative accuracy is about ``condition * 1e-11``.
    jacobian : ndarray or None
        ``J`` (4 x 4) in the coordinates y = (atanh(m / sqrt(rho' q)), log q, log V, log P); None for w = 0.
    scheme : str
        The difference scheme (``asymptotics.differences``).
    steps : dict
        ``{parameter: (step, side)}``: the largest step of the scheme along the parameter and 0 (two-sided) or +1
        (one-sided at the lower end of its domain).
    point : dict
        The point (as in :attr:`FixedPoint.point`).
    trivial : bool
        The point is the collapsed w = 0 solution (derivatives zero inside the region where the zero test holds).
    evaluations : int
        Map (or channel-Jacobian) evaluations used.
    values : dict
        The observables at the point (as in the FixedPoint), for relative comparisons.

    Examples
    --------
    >>> import asymptotics
    >>> fp = asymptotics.solve(alpha=1.0, eps=0.1, lam=0.1, attack="l2", reg="l2", loss="square", tol=1e-12)
    >>> s = asymptotics.sensitivities(fp, wrt="lam")
    >>> round(s.of("q", "lam"), 4), s.of("adv_error", "lam") < 0, round(s.condition, 2)
    (-3.5082, True, 3.16)
    """

    derivatives: dict
    condition: float
    jacobian: np.ndarray | None
    scheme: str
    steps: dict
    point: dict
    trivial: bool = False
    evaluations: int = 0
    values: dict = field(default_factory=dict)

    @property
    def parameters(self) -> tuple:
        return tuple(self.derivatives)

    def of(self, observable: str, parameter: str) -> float:
        """d observable / d parameter (e.g. ``of("adv_error", "lam")``)."""
        if parameter not in self.derivatives:
            raise InvalidParameter("parameter", f"not computed: {parameter!r}; computed {list(self.derivatives)}")
        row = self.derivatives[parameter]
        if observable not in row:
            raise InvalidParameter("observable", f"unknown {observable!r}; one of {list(OBSERVABLES)}")
        return row[observable]

    def to_dict(self) -> dict:
        return {"derivatives": {p: dict(row) for p, row in self.derivatives.items()}, "condition": self.condition,
                "jacobian": None if self.jacobian is None else self.jacobian.tolist(), "scheme": self.scheme,
                "steps": {p: list(s) for p, s in self.steps.items()}, "point": dict(self.point),
                "trivial": self.trivial, "evaluations": self.evaluations, "values": dict(self.values)}

    def __repr__(self) -> str:
        params = list(self.derivatives)
        head = f"Sensitivities({self.point})\n  {'d / d':<17}" + "".join(f"{p:>14}" for p in params)
        rows = [f"  {o:<17}" + "".join(f"{self.derivatives[p][o]:>14.6g}" for p in params) for o in OBSERVABLES]
        tail = (f"  condition of I - dF/dx: {self.condition:.3g}; scheme {self.scheme}, {self.evaluations} map "
                f"evaluations" + ("; w = 0 (collapsed)" if self.trivial else ""))
        return "\n".join([head, *rows, tail])


# ---- the map around one point, in coordinates frozen there --------------------------------------------------------

class _Around:
    """The map G(y; theta) and the observables around one problem, in y coordinates with rho' frozen at it."""

    def __init__(self, pb: Problem, fast_paths: bool = True):
        self.pb = pb
        self.fast = fast_paths
        self.rho_eff = pb.rho_x + pb.data.tau ** 2
        self.calls = 0          # map (or channel) evaluations
        self.prior_calls = 0    # prior-only evaluations (a fraction of a map evaluation)

    def to_y(self, x) -> np.ndarray:
        m, q, Vv, P = x
        c = min(max(m / math.sqrt(self.rho_eff * q), -1.0 + 1e-15), 1.0 - 1e-15)
        return np.array([math.atanh(c), math.log(q), math.log(Vv), math.log(max(P, 1e-300))])

    def to_x(self, y) -> tuple:
        y = np.clip(np.asarray(y, dtype=np.float64), -700.0, 700.0)
        q = math.exp(y[1])
        return (math.tanh(y[0]) * math.sqrt(self.rho_eff * q), q, math.exp(y[2]), math.exp(y[3]))

    def problem(self, name: str, value: float) -> Problem:
        """The problem with one parameter moved (eps moves eps_test with it when they are equal)."""
        pb = self.pb
        if name in ("alpha", "lam", "eps_test"):
            return replace(pb, **{name: float(value)})
        if name == "eps":
            return _with(pb, "eps", float(value))
        if name == "r":
            return replace(pb, reg=Regularizer.lr(float(value)))
        if name in ("tau", "rho"):
            data = replace(pb.data, **{name: float(value)})
            return Problem.from_point(pb.alpha, pb.eps, pb.lam, pb.attack, pb.reg, pb.loss, data, pb.eps_test,
                                      pb.attack_test)
        raise InvalidParameter("wrt", f"unknown parameter {name!r}; one of {PARAMETERS}")

    # ---- the map in pieces: the channel's Jacobian in closed form, the prior's by differences -----------------
    def prior(self, hats, pb: Problem) -> np.ndarray:
        self.prior_calls += 1
        out = prior_overlaps(tuple(hats), pb.lam, pb.reg.r, pb.attack.dual_exponent, pb.spectra,
                             fast_paths=self.fast)
        return np.array(out[:4], dtype=np.float64)

    def dy_dx(self, x) -> np.ndarray:
        """d y / d x at x (y = to_y(x))."""
        m, q, Vv, P = x
        root = math.sqrt(self.rho_eff * q)
        c = m / root
        T = np.zeros((4, 4))
        T[0, 0] = 1.0 / ((1.0 - c * c) * root)
        T[0, 1] = -c / (2.0 * q * (1.0 - c * c))
        T[1, 1], T[2, 2], T[3, 3] = 1.0 / q, 1.0 / Vv, 1.0 / max(P, 1e-300)
        return T

    def dx_dy(self, y) -> np.ndarray:
        """d x / d y at y (x = to_x(y))."""
        m, q, Vv, P = self.to_x(y)
        X = np.zeros((4, 4))
        X[0, 0] = (1.0 - math.tanh(y[0]) ** 2) * math.sqrt(self.rho_eff * q)
        X[0, 1] = 0.5 * m
        X[1, 1], X[2, 2], X[3, 3] = q, Vv, P
        return X

    def analytic(self, y, pb: Problem, scheme: str):
        """The Jacobian J = dG/dy from the channel's closed-form Jacobian and the prior's by differences on its four
        inputs (relative steps), or None where the loss has no closed form (``channel_jacobian``). Returns
        (J, parts) with parts = dict(hats, C, d_eps, d_alpha, Pj, T) for the parameter derivatives."""
        x = self.to_x(y)
        cj = channel_jacobian(*x, alpha=pb.alpha, loss=pb.loss, eps=pb.eps, attack=pb.attack, rho_x=pb.rho_x,
                              tau=pb.data.tau, fast_paths=self.fast)
        if cj is None:
            return None
        self.calls += 1
        hats, C, d_eps, d_alpha = cj
        x1 = self.prior(hats, pb)
        h = differences.DEFAULT_STEP[scheme]
        scale = max(float(np.max(np.abs(hats))), 1e-300)
        Pj = np.zeros((4, 4))
        for j in range(4):
            if j == 3 and not np.any(C[3]) and d_eps[3] == 0.0:
                continue                               # eps = 0: P_hat = 0 and nothing moves it
            e = np.zeros(4)
            e[j] = 1.0
            if hats[j] > 0:
                Pj[:, j] = differences.derivative(lambda s: self.prior(hats + s * e, pb), 0.0, h * hats[j], scheme,
                                                  f0=x1)
            else:                                      # P_hat = 0 at eps = 0: one-sided, on the conjugates' scale
                Pj[:, j] = differences.derivative(lambda s: self.prior(hats + s * e, pb), 0.0,
                                                  differences.ONE_SIDED_STEP * scale, scheme, f0=x1, side=1)
        T = self.dy_dx(x1)
        J = T @ Pj @ C @ self.dx_dy(y)
        return J, {"hats": hats, "C": C, "d_eps": d_eps, "d_alpha": d_alpha, "Pj": Pj, "T": T, "x1": x1}

    def G(self, y, pb: Problem | None = None) -> np.ndarray:
        self.calls += 1
        fx = _Map(pb or self.pb, self.fast)(self.to_x(y))
        if not all(map(math.isfinite, fx)) or fx[1] <= 0 or fx[2] <= 0:
            raise FloatingPointError(f"invalid map value {fx}")
        return self.to_y(fx)

    def observe(self, y, pb: Problem | None = None) -> np.ndarray:
        pb = pb or self.pb
        self.calls += 1
        res = _result(pb, _Map(pb, self.fast), self.to_x(y), [0.0], 0.0, {})
        return np.array([getattr(res, k) for k in OBSERVABLES], dtype=np.float64)


R1_STEP = 0.1   # one-sided step along r at r = 1 (the solver's prior switches from closed form to quadrature there)


def _map_derivative(around: _Around, name, y0, g0, t0, h, scheme, side, parts):
    """dG/dtheta at y0: in closed form through the channel (alpha, eps), by differences of the prior alone at
    fixed conjugates (lam, r), or by differences of the whole map (eps_test, tau, rho, or no closed form)."""
    if parts is not None and name in ("alpha", "eps", "lam", "r"):
        T = parts["T"]
        if name in ("alpha", "eps"):
            return T @ parts["Pj"] @ parts["d_" + name]
        hats, x1 = parts["hats"], parts["x1"]
        dx = differences.derivative(lambda t: around.prior(hats, around.problem(name, t)), t0, h, scheme, f0=x1,
                                    side=side)
        return T @ dx
    return differences.derivative(lambda t: around.G(y0, around.problem(name, t)), t0, h, scheme, f0=g0, side=side)


def _step(name: str, value: float, scheme: str, h: float | None) -> tuple[float, int]:
    """(largest step, side) along a parameter: two-sided unless the step would leave the domain.

    Steps are ``h * max(|theta|, floor)`` (relative for alpha, lam, rho; absolute below the floor for eps, eps_test,
    tau, lam = 0). At r = 1 exactly the one-sided step is 0.1: the solver's prior there is the soft-threshold closed
    form, and just above it a quadrature accurate to only ~1e-4 for 1 < r < 1.03 (a jump of 3.6e-4 that a small
    step would divide)."""
    low, floor = _DOMAIN[name]
    scale = max(abs(value), floor)
    step = (differences.DEFAULT_STEP[scheme] if h is None else h) * scale
    if value - step > low:
        return step, 0
    if name == "r" and value == 1.0 and h is None:
        return R1_STEP, 1
    return (differences.ONE_SIDED_STEP if h is None else h) * scale, 1


def _check_wrt(wrt, pb: Problem) -> tuple:
    if isinstance(wrt, str):
        wrt = (wrt,)
    try:
        names = tuple(wrt)
    except TypeError:
        raise InvalidParameter("wrt", f"must be a parameter name or a sequence of them, got {wrt!r}") from None
    if not names:
        raise InvalidParameter("wrt", "must name at least one parameter")
    for name in names:
        if name not in PARAMETERS:
            raise InvalidParameter("wrt", f"unknown parameter {name!r}; one of {PARAMETERS}")
        if name == "r" and pb.reg.kind != "lr":
            raise InvalidParameter("wrt", f"'r' is not a parameter of a {pb.reg.name} regularizer (only of l_r)")
    if len(set(names)) != len(names):
        raise InvalidParameter("wrt", f"repeated parameter in {names}")
    return names


def problem_of(fp: FixedPoint, overrides: dict) -> Problem:
    """The Problem a FixedPoint solved: its ``point`` with the objects its names cannot carry (``overrides``)."""
    if not isinstance(fp, FixedPoint):
        raise InvalidParameter("fp", f"must be a FixedPoint (a result of asymptotics.solve), got {type(fp).__name__}")
    allowed = {"attack", "reg", "loss", "data", "attack_test"}
    unknown = set(overrides) - allowed
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], f"cannot be overridden; only {sorted(allowed)} (objects that "
                                                   f"FixedPoint.point names but cannot carry)")
    point = {**fp.point, **overrides}
    same_test = fp.point.get("attack_test") == fp.point.get("attack")
    if "attack_test" not in overrides and "attack" in overrides and same_test:
        point["attack_test"] = overrides["attack"]      # solve's default: the test attack is the training attack
    for key in ("attack", "reg", "attack_test"):
        if point.get(key) == "mahalanobis" and key not in overrides:
            raise InvalidParameter(key, "the point names a Mahalanobis geometry without its matrix: pass the object "
                                        f"used by solve, e.g. sensitivities(fp, ..., {key}=...)")
    args = {k: point[k] for k in ("alpha", "eps", "lam", "attack", "reg", "loss", "eps_test", "attack_test")
            if k in point}
    return Problem.from_point(**args, data=point.get("data"))


def sensitivities(fp: FixedPoint, wrt=("lam", "eps", "alpha"), *, scheme: str = "richardson",
                  step: float | None = None, jacobian: str = "auto", **objects) -> Sensitivities:
    """Derivatives of every order parameter, conjugate and error of a solved point w.r.t. the named parameters.

    By the implicit function theorem at the fixed point: dx/dtheta = (I - dF/dx)^{-1} dF/dtheta, with the Jacobians
    taken by a difference scheme on the map (never by re-solving), and the direct dependence of the errors on the
    parameters included.

    Parameters
    ----------
    fp : FixedPoint
        A result of :func:`asymptotics.solve`.
    wrt : str or sequence of str
        Parameters among ``"alpha"`` (n/d), ``"eps"`` (training attack size; it moves ``eps_test`` with it when the
        two are equal, the default test attack: the total derivative of that setting), ``"lam"``, ``"r"`` (order of
        an l_r regularizer), ``"eps_test"`` (test attack size only), ``"tau"`` (label noise), ``"rho"`` (teacher
        norm).
    scheme : {"richardson", "central", "forward"}
        Difference scheme on the map (``asymptotics.differences``); the default is accurate to ~1e-11 times the
        condition number.
    step : float, optional
        Largest step of the scheme, in y units and relative to ``max(|theta|, floor)`` for a parameter (default:
        2e-3 for Richardson).
    jacobian : {"auto", "differences"}
        "auto": the channel's Jacobian in closed form where the loss allows it (logistic, exponential, square:
        ``asymptotics.channel_jacobian``), composed with the prior's by the difference scheme on its four inputs;
        "differences": the difference scheme on the whole map (every loss; an independent check of "auto").
    **objects
        ``attack``, ``reg``, ``loss``, ``attack_test``, ``data``: the objects passed to ``solve`` that
        ``fp.point`` names but cannot carry (a Mahalanobis matrix, a formula-defined loss).

    Returns
    -------
    Sensitivities
        ``.of(observable, parameter)``, ``.derivatives``, ``.condition`` (of I - dF/dx), ``.to_dict()``.

    Raises
    ------
    InvalidParameter
        An unknown parameter or scheme, ``"r"`` for a Mahalanobis regularizer, or a ``fp`` that does not solve the
        problem its point describes (map residual > 1e-5: pass the objects used by ``solve``).
    SingularPoint (a ConvergenceError)
        I - dF/dx is singular (condition number > 1e10), the map fails next to the point, or a collapsed w = 0
        solution lies on the edge of its region along a parameter (the zero test fails one step away).

    Notes
    -----
    Conventions are those of :func:`asymptotics.solve`: R(w) = sum|w_j|^r (no 1/r), attack term eps A(P) with
    A = P^{1/p*}, errors are probabilities. Derivatives of the errors are per unit of the parameter (not of log lam:
    multiply by lam for d / d log lam). At the edge of a parameter's domain (lam = 0, eps = 0, eps_test = 0,
    tau = 0, r = 1) the derivative is one-sided (from above). For the collapsed solution w = 0 the observables are
    constant inside the region where the zero test holds (every error 1/2, m = q = V = P = 0), so the derivatives
    are 0, except ``estimation_error`` = rho_x, which moves with rho; the conjugates are undefined there (NaN). The
    zero test is checked one step away on each side; if it fails there the point is on the edge of the region and
    ``SingularPoint`` is raised. Near r = 1 (1 < r < 1.05) the solver's prior quadrature is accurate to only
    1e-4..1e-5, so derivatives along r there are those of the solver's (smooth) numerical map. Equations, scheme and
    accuracy: docs/sensitivities.md.

    Examples
    --------
    >>> import asymptotics
    >>> fp = asymptotics.solve(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2", tol=1e-12)
    >>> s = asymptotics.sensitivities(fp, wrt=("lam", "eps_test"))
    >>> round(s.of("adv_error", "lam"), 4), round(s.of("adv_error", "eps_test"), 4), s.of("m", "eps_test")
    (0.0586, 0.3295, 0.0)
    """
    scheme = V.choice("scheme", scheme, differences.SCHEMES)
    jacobian = V.choice("jacobian", jacobian, ("auto", "differences"))
    if step is not None:
        step = V.real("step", step, low=0.0, high=0.1, low_open=True)
    pb = problem_of(fp, objects)
    names = _check_wrt(wrt, pb)
    around = _Around(pb)
    values = {name: float(getattr(pb, name)) if name in ("alpha", "eps", "lam", "eps_test")
              else float(pb.reg.r) if name == "r" else float(getattr(pb.data, name)) for name in names}
    steps = {name: _step(name, values[name], scheme, step) for name in names}
    if fp.trivial:
        return _trivial_sensitivities(fp, pb, around, names, values, steps, scheme)
    y0 = around.to_y(fp.state)
    with np.errstate(all="ignore"):
        try:
            g0 = around.G(y0)
        except (FloatingPointError, ZeroDivisionError, ValueError, OverflowError, _Collapsed) as exc:
            raise InvalidParameter("fp", f"the map cannot be evaluated at its state ({exc}): pass the objects used "
                                         "by solve") from None
        residual = float(np.max(np.abs(g0 - y0)))
        if not residual <= RESIDUAL_MAX:
            raise InvalidParameter("fp", f"is not a fixed point of the problem its point describes (map residual "
                                         f"{residual:.2e} > {RESIDUAL_MAX:g}): pass the attack/reg/loss/data objects "
                                         "used by solve")
        try:
            found = around.analytic(y0, pb, scheme) if jacobian == "auto" else None
            J, parts = found if found is not None else (differences.jacobian(around.G, y0, step, scheme, g0=g0), None)
            A = np.eye(4) - J
            cond = float(np.linalg.cond(A))
            if not math.isfinite(cond) or cond > CONDITION_MAX:
                raise SingularPoint(f"I - dF/dx is singular at {pb.point()} (condition number {cond:.3g} > "
                                    f"{CONDITION_MAX:g}): the fixed point does not move smoothly with the parameters "
                                    "here (a phase transition)", hint="move the point slightly",
                                    diagnostics={"condition": cond, "jacobian": J.tolist()})
            o0 = around.observe(y0)
            derivs = {}
            for name in names:
                h, side = steps[name]
                t0 = values[name]
                dG = _map_derivative(around, name, y0, g0, t0, h, scheme, side, parts)
                dy = np.linalg.solve(A, dG)
                dO = differences.derivative(lambda t: around.observe(y0 + (t - t0) * dy, around.problem(name, t)),
                                            t0, h, scheme, f0=o0, side=side)
                derivs[name] = {k: float(v) for k, v in zip(OBSERVABLES, dO)}
        except (FloatingPointError, ZeroDivisionError, OverflowError, _Collapsed, np.linalg.LinAlgError,
                ConvergenceError) as exc:
            if isinstance(exc, SingularPoint):
                raise
            raise SingularPoint(f"the map fails next to {pb.point()} ({type(exc).__name__}: {exc}): no derivative "
                                "by differences here", hint="use a smaller step or move the point slightly",
                                diagnostics={"error": str(exc)}) from None
    bad = [(n, k) for n, row in derivs.items() for k, v in row.items() if not math.isfinite(v)]
    if bad:
        raise SingularPoint(f"non-finite derivatives {bad[:4]} at {pb.point()}", diagnostics={"condition": cond})
    return Sensitivities(derivs, cond, J, scheme, steps, pb.point(), False, around.calls,
                         {k: float(v) for k, v in zip(OBSERVABLES, o0)})


def _trivial_sensitivities(fp, pb, around, names, values, steps, scheme) -> Sensitivities:
    """w = 0: the observables are those of ``_trivial_result`` as long as the zero test holds (checked a step away
    on each side used by the scheme)."""
    if not zero_test(pb).optimal:
        raise InvalidParameter("fp", "is a collapsed w = 0 result, but the zero test fails for the problem its point "
                                     "describes: pass the objects used by solve")

    def observe(problem):
        res = _trivial_result(problem, {})
        return np.array([getattr(res, k) for k in OBSERVABLES], dtype=np.float64)

    derivs = {}
    for name in names:
        h, side = steps[name]
        t0 = values[name]
        ends = [t0 + h] if side else [t0 - h, t0 + h]
        edge = [t for t in ends if not zero_test(around.problem(name, t)).optimal]
        if edge:
            raise SingularPoint(f"w = 0 is certified at {pb.point()} but not at {name} = {edge[0]:.6g}: the point is "
                                f"on the edge of the collapsed region, where the derivatives along {name} jump",
                                hint=f"move {name} slightly", diagnostics={"parameter": name, "step": h})
        with np.errstate(invalid="ignore"):
            dO = differences.derivative(lambda t: observe(around.problem(name, t)), t0, h, scheme, side=side)
        derivs[name] = {k: float(v) for k, v in zip(OBSERVABLES, dO)}
    o0 = observe(pb)
    return Sensitivities(derivs, math.nan, None, scheme, steps, pb.point(), True, 0,
                         {k: float(v) for k, v in zip(OBSERVABLES, o0)})
