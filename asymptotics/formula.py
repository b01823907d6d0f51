"""Symbolic side of losses and penalties written as formulas (``Loss.from_sympy``, ``Regularizer.from_sympy``).

A formula is a sympy expression in one symbol. This module

1. **parses** it (exactly one free symbol, renamed to a real ``u`` for a loss, ``x`` for a penalty);
2. **splits** it into smooth pieces: ``Abs``, ``Max``, ``Min``, ``sign``, ``Heaviside`` are rewritten as
   ``Piecewise``, and every boundary of a ``Piecewise`` condition becomes a breakpoint ``b_1 < ... < b_K``; on each
   open interval between breakpoints the formula is one smooth expression, differentiated twice by sympy. A penalty
   ``f`` must be even and is split on ``x > 0`` only (``f(w) = f(|w|)``), so ``|x|`` never reaches the derivatives;
3. **rewrites** ``log(1 + exp(z))`` as a stable ``softplus(z)`` (derivative ``expit(z)``), so that the logistic
   loss written by hand is evaluated as accurately as the built-in one;
4. **checks** what the theory needs, each with a message that names the violation:

   * real-valued and finite at 0 (and real and finite on the whole check grid, ``|u| <= 50``);
   * continuous at the breakpoints (a convex function is);
   * convex: ``l'' >= 0`` on every piece and ``l'(b-) <= l'(b+)`` at every breakpoint; for a penalty also
     ``f'(0+) >= 0`` (an even convex function is smallest at 0);
   * losses only: non-increasing, ``l' <= 0`` (the worst-case perturbation shifts every margin by ``-eps A(w)``
     only for a non-increasing loss, docs/derivations.md §1);
   * penalties only: even, ``f(x) = f(-x)`` (the prior's quadrature uses the symmetry ``w -> -w``).

   Each sign condition is first asked of sympy's assumptions on the piece (``u = a + t``, ``u = b - t`` or
   ``u = a + (b - a)/(1 + t)`` with ``t > 0``); where sympy cannot decide, it is checked numerically on a grid of
   20001 points on [-50, 50] (penalties: (0, 50]), 200 log-spaced points out to 1e4 and points 1e-9, 1e-6, 1e-3
   (relative) either side of every breakpoint, with the tolerance ``NUMERIC_TOL * (1 + max |value| on the grid)``.
   The outcome of each check ("symbolic" or "numeric") is kept in ``Formula.checks``.

Numerical evaluation and the kernels are generated from these pieces by :mod:`asymptotics.formula_codegen`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from scipy.ndimage import maximum_filter1d
from scipy.special import expit as _np_expit

from .errors import InvalidParameter

GRID_HALF_WIDTH = 50.0
GRID_POINTS = 20001
FAR = 1e4
NUMERIC_TOL = 1e-8
WINDOW = 100          # grid points either side that set the local scale of the numeric tolerance


class softplus(sp.Function):  # noqa: N801  (sympy function names are lower case)
    """log(1 + exp(z)), evaluated without overflow (derivative ``expit(z)``)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return expit(self.args[0])

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_real else None

    def _eval_rewrite_as_log(self, z, **kwargs):
        return sp.log(1 + sp.exp(z))

    def _eval_evalf(self, prec):
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)


class expit(sp.Function):  # noqa: N801
    """1 / (1 + exp(-z)) (derivative ``expit(z) expit(-z)``, a product of positives)."""

    nargs = 1

    def fdiff(self, argindex=1):
        z = self.args[0]
        return expit(z) * expit(-z)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_real else None

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)


def _np_softplus(z):
    return np.logaddexp(0.0, z)


NUMPY_MODULES = [{"softplus": _np_softplus, "expit": _np_expit}, "scipy", "numpy"]


def _stable(expr):
    """log(1 + exp(z)) -> softplus(z) (anywhere in the expression)."""
    def is_softplus(e):
        if not isinstance(e, sp.log):
            return False
        a = e.args[0]
        return isinstance(a, sp.Add) and len(a.args) == 2 and sp.S.One in a.args and any(
            isinstance(t, sp.exp) for t in a.args)

    def to_softplus(e):
        z = next(t for t in e.args[0].args if isinstance(t, sp.exp)).args[0]
        return softplus(z)

    return expr.replace(is_softplus, to_softplus)


@dataclass(frozen=True)
class Formula:
    """A validated formula split into smooth pieces.

    Piece ``j`` lives on ``(breaks[j-1], breaks[j])`` (with ``breaks[-1] = lo`` and ``breaks[K] = +inf``); ``lo`` is
    ``-inf`` for a loss and ``0`` for a penalty (evaluated at ``|w|``). ``d1_left[k]``, ``d1_right[k]`` are the
    one-sided first derivatives at ``breaks[k]``; ``d1_at_zero`` is ``f'(0+)`` for a penalty and ``l'(0-)`` for a
    loss; ``value_at_zero`` is ``l(0)`` / ``f(0)``.
    """

    kind: str                         # "loss" or "penalty"
    name: str
    expr: sp.Expr                     # the user's expression in the canonical symbol
    symbol: sp.Symbol
    breaks: tuple                     # exact sympy numbers, increasing
    pieces: tuple                     # (value, d1, d2) sympy expressions per piece
    d1_left: tuple                    # floats
    d1_right: tuple                   # floats
    d1_at_zero: float                 # loss: l'(0-); penalty: f'(0+)
    value_at_zero: float
    checks: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identity of the formula (the canonical expression), used for equality, caching and file names."""
        return sp.srepr(self.expr)

    @property
    def breaks_float(self) -> tuple:
        return tuple(float(b) for b in self.breaks)

    @property
    def smooth(self) -> bool:
        """C^1: the first derivative has no jump at any breakpoint."""
        return all(abs(r - l) <= NUMERIC_TOL * (1.0 + abs(l)) for l, r in zip(self.d1_left, self.d1_right))


# ---------------------------------------------------------------- parsing -----------------------------------------
def canonical(expr, kind: str):
    """(expression in the canonical real symbol, symbol); raises InvalidParameter("expr") naming the problem."""
    what = "loss" if kind == "loss" else "penalty"
    if isinstance(expr, str):
        try:
            expr = sp.sympify(expr)
        except (sp.SympifyError, SyntaxError, TypeError) as exc:
            raise InvalidParameter("expr", f"cannot parse {expr!r} as a sympy expression ({exc})") from None
    if isinstance(expr, (int, float)) or not isinstance(expr, sp.Expr):
        raise InvalidParameter("expr", f"the {what} must be a sympy expression in one symbol, got {expr!r}")
    free = expr.free_symbols
    if len(free) != 1:
        names = sorted(str(s) for s in free)
        raise InvalidParameter("expr", f"the {what} must contain exactly one free symbol (the "
                                       f"{'margin u' if kind == 'loss' else 'coordinate x'}), got {names or 'none'}")
    if expr.atoms(sp.Function) and any(isinstance(f, sp.core.function.AppliedUndef) for f in expr.atoms(sp.Function)):
        undef = sorted(str(f.func) for f in expr.atoms(sp.core.function.AppliedUndef))
        raise InvalidParameter("expr", f"the {what} uses undefined functions {undef}")
    (old,) = free
    sym = sp.Symbol("u" if kind == "loss" else "x", real=True)
    return expr.xreplace({old: sym}), sym


def _numbers_of(boundary):
    """The points of a set's boundary (TypeError when it is not a finite set)."""
    if isinstance(boundary, sp.FiniteSet):
        return list(boundary)
    if boundary.is_empty:
        return []
    raise TypeError(boundary)


def _split_points(expr, x, lo):
    """Sorted finite boundary points (> lo) of every Piecewise condition in ``expr``."""
    points = set()
    for pw in expr.atoms(sp.Piecewise):
        for _, cond in pw.args:
            if cond in (sp.true, sp.false):
                continue
            try:
                bnd = _numbers_of(cond.as_set().boundary)
            except (NotImplementedError, TypeError, ValueError):
                raise InvalidParameter("expr", f"cannot locate the pieces of the condition {cond} (write it as "
                                               f"inequalities in the symbol with numeric bounds)") from None
            for b in bnd:
                if b.is_real and b.is_finite and (lo is None or b > lo):
                    points.add(sp.nsimplify(b) if b.is_Float else b)
    return sorted(points, key=float)


def _restrict(expr, x, point):
    """The branch of every Piecewise in ``expr`` that holds at ``x = point``."""
    def pick(pw):
        for branch, cond in pw.args:
            val = cond.subs(x, point) if cond not in (sp.true, sp.false) else cond
            if val == sp.true:
                return branch
            if val != sp.false:
                raise InvalidParameter("expr", f"cannot decide the condition {cond} at {x} = {point}")
        raise InvalidParameter("expr", f"{pw} is undefined at {x} = {point} (add an otherwise branch (expr, True))")

    for _ in range(50):
        if not expr.has(sp.Piecewise):
            return expr
        expr = expr.replace(lambda e: isinstance(e, sp.Piecewise), pick)
    raise InvalidParameter("expr", "Piecewise nesting too deep")


def _representatives(breaks, lo):
    """One exact interior point per piece."""
    if not breaks:
        return [sp.Integer(0) if lo is None else lo + 1]
    reps = [(breaks[0] - 1) if lo is None else (lo + breaks[0]) / 2]
    reps += [(a + b) / 2 for a, b in zip(breaks[:-1], breaks[1:])]
    reps.append(breaks[-1] + 1)
    return reps


def _number(expr, x, at, side):
    """expr at x = at as a float (the one-sided limit from ``side`` ("+" or "-") when direct substitution is not
    finite; no limit when side is None). NaN when not real."""
    try:
        v = complex(sp.N(expr.subs(x, at)))
    except (TypeError, ValueError):
        v = complex("nan")
    if side is not None and not (np.isfinite(v.real) and abs(v.imag) <= 1e-12 * (1 + abs(v.real))):
        try:
            v = complex(sp.N(sp.limit(expr, x, at, dir=side)))
        except (TypeError, ValueError, NotImplementedError):
            v = complex("nan")
    if abs(v.imag) > 1e-12 * (1 + abs(v.real)):
        return float("nan")
    return float(v.real)


# ---------------------------------------------------------------- checks ------------------------------------------
def _piece_substitution(x, a, b):
    """x on (a, b) as a function of a positive t, for sympy's assumptions (a = None: -inf; b = None: +inf)."""
    t = sp.Symbol("t", positive=True)
    if a is None and b is None:
        return None
    if b is None:
        return a + t
    if a is None:
        return b - t
    return a + (b - a) / (1 + t)


def _sympy_sign(expr, x, a, b, want: str):
    """True if sympy proves expr >= 0 (want "nonneg") or <= 0 ("nonpos") on (a, b); None when it cannot tell."""
    sub = _piece_substitution(x, a, b)
    e = expr if sub is None else expr.subs(x, sub)
    for form in (e, sp.together(e)):
        val = form.is_nonnegative if want == "nonneg" else form.is_nonpositive
        if val:
            return True
    return None


def _grid(kind, breaks):
    core = np.linspace(-GRID_HALF_WIDTH, GRID_HALF_WIDTH, GRID_POINTS)
    far = np.logspace(np.log10(GRID_HALF_WIDTH), np.log10(FAR), 200)
    pts = [core, far, -far]
    for b in breaks:
        for r in (1e-9, 1e-6, 1e-3):
            h = r * (1.0 + abs(b))
            pts.append(np.array([b - h, b + h]))
    g = np.unique(np.concatenate(pts))
    if kind == "penalty":
        g = np.unique(np.concatenate([g[g > 0], np.logspace(-12, 0, 60)]))
    return g


def _evaluate(fn, pts):
    """fn on the points as float64; non-real values become NaN."""
    with np.errstate(all="ignore"):
        try:
            v = np.asarray(fn(pts))
        except (NameError, TypeError, AttributeError) as exc:
            raise InvalidParameter("expr", f"cannot evaluate the formula numerically ({exc})") from None
    v = np.broadcast_to(v, pts.shape)
    if np.iscomplexobj(v):
        bad = np.abs(v.imag) > 1e-12 * (1 + np.abs(v.real))
        v = np.where(bad, np.nan, v.real)
    return np.array(v, dtype=np.float64)


def _describe(v) -> str:
    return "not real (NaN in float64)" if np.isnan(v) else f"{v}"


def _fmt(v) -> str:
    return f"{v:.6g}"


class _Checker:
    """Runs the checks of one formula over its pieces, raising InvalidParameter("expr") at the first violation."""

    def __init__(self, kind, x, breaks, pieces):
        self.kind, self.x, self.breaks, self.pieces = kind, x, breaks, pieces
        self.what = "loss" if kind == "loss" else "penalty"
        self.l = "l" if kind == "loss" else "f"
        self.bf = [float(b) for b in breaks]
        grid = _grid(kind, self.bf)
        edges = np.searchsorted(np.asarray(self.bf), grid, side="right")
        on_break = np.isin(grid, np.asarray(self.bf)) if self.bf else np.zeros(grid.shape, bool)
        self.samples = []              # per piece: (points, value, d1, d2)
        for j, derivs in enumerate(pieces):
            pts = grid[(edges == j) & ~on_break]
            vals = [_evaluate(sp.lambdify(x, e, modules=NUMPY_MODULES), pts) for e in derivs]
            self.samples.append((pts, *vals))

    def bounds(self, j):
        lo = None if (j == 0 and self.kind == "loss") else (sp.Integer(0) if j == 0 else self.breaks[j - 1])
        hi = self.breaks[j] if j < len(self.breaks) else None
        return lo, hi

    def real_and_finite(self):
        names = (f"{self.l}", f"{self.l}'", f"{self.l}''")
        for pts, *vals in self.samples:
            near = np.abs(pts) <= GRID_HALF_WIDTH
            for name, v in zip(names, vals):
                bad = near & ~np.isfinite(v)
                if np.any(bad):
                    k = np.flatnonzero(bad)[np.argmin(np.abs(pts[bad]))]
                    raise InvalidParameter("expr", f"the {self.what} must be real-valued and finite with finite "
                                                   f"derivatives: {name}({self.x}) is {_describe(v[k])} at "
                                                   f"{self.x} = {_fmt(pts[k])}")

    def sign(self, idx, want, message):
        """Every piece: derivative ``idx`` (1 or 2) >= 0 (``want="nonneg"``) or <= 0 ("nonpos").

        Numerically, a violation is a grid point where the derivative has the wrong sign by more than
        ``NUMERIC_TOL * (1 + local scale)``, the local scale being the largest of |value|, |first| and |second
        derivative| over the WINDOW grid points either side (a rounding error of the formula is relative to its
        terms, and losses such as e^{-u} span hundreds of decades over the grid). The violation nearest to 0 is
        reported."""
        how = "symbolic"
        for j, (pts, *vals) in enumerate(self.samples):
            lo, hi = self.bounds(j)
            if not pts.size or _sympy_sign(self.pieces[j][idx], self.x, lo, hi, want):
                continue
            how = (f"numeric (grid, tolerance {NUMERIC_TOL:g} * (1 + local max of |{self.l}|, |{self.l}'|, "
                   f"|{self.l}''|))")
            mags = np.max(np.abs(np.stack(vals)), axis=0)
            scale = maximum_filter1d(np.where(np.isfinite(mags), mags, 0.0), size=2 * WINDOW + 1, mode="nearest")
            v = vals[idx]
            excess = -v if want == "nonneg" else v
            bad = np.isfinite(excess) & (excess > NUMERIC_TOL * (1.0 + scale))
            if np.any(bad):
                k = np.flatnonzero(bad)[np.argmin(np.abs(pts[bad]))]
                raise InvalidParameter("expr", message(pts[k], v[k]))
        return how


def _check_continuity(chk: _Checker, pieces, x, breaks):
    for k, b in enumerate(breaks):
        left = _number(pieces[k][0], x, b, "-")
        right = _number(pieces[k + 1][0], x, b, "+")
        if not (np.isfinite(left) and np.isfinite(right)):
            raise InvalidParameter("expr", f"the {chk.what} must be finite at its breakpoint {x} = {_fmt(float(b))}")
        if abs(left - right) > NUMERIC_TOL * (1 + abs(left)):
            raise InvalidParameter("expr", f"the {chk.what} must be continuous (a convex function is): "
                                           f"{chk.l}({x}) jumps from {_fmt(left)} to {_fmt(right)} at {x} = "
                                           f"{_fmt(float(b))}")


def analyse(expr, kind: str, name: str) -> Formula:
    """Parse, split and check a loss (``kind="loss"``) or an even penalty (``kind="penalty"``); see the module
    docstring. Raises ``InvalidParameter("expr")`` naming the first violated condition."""
    expr, x = canonical(expr, kind)
    what = "loss" if kind == "loss" else "penalty"
    L = "l" if kind == "loss" else "f"
    checks = {}
    # finite (and real) at 0
    v0 = _number(expr, x, 0, None)
    if not np.isfinite(v0):
        raise InvalidParameter("expr", f"the {what} must be real and finite at {x} = 0, got {L}(0) = "
                                       f"{expr.subs(x, 0)}")
    if kind == "penalty":
        checks["even"] = _check_even(expr, x)
        xp = sp.Symbol("x", positive=True)        # f(w) = f(|w|): pieces on x > 0, where |x| = x
        work, lo = expr.xreplace({x: xp}), sp.Integer(0)
    else:
        work, xp, lo = expr, x, None
    work = sp.piecewise_fold(_stable(work.rewrite(sp.Piecewise)))
    breaks = _split_points(work, xp, lo)
    pieces = []
    for rep in _representatives(breaks, lo):
        e = _restrict(work, xp, rep)
        e = e.replace(sp.DiracDelta, lambda *args: sp.Integer(0))
        d1 = sp.diff(e, xp).replace(sp.DiracDelta, lambda *args: sp.Integer(0))
        d2 = sp.diff(d1, xp).replace(sp.DiracDelta, lambda *args: sp.Integer(0))
        pieces.append((e, d1, d2))
    from .formula_codegen import printable

    for derivs in pieces:
        for e in derivs:
            printable(e, name)
    chk = _Checker(kind, xp, breaks, pieces)
    chk.real_and_finite()
    _check_continuity(chk, pieces, xp, breaks)
    d1_left = tuple(_number(pieces[k][1], xp, b, "-") for k, b in enumerate(breaks))
    d1_right = tuple(_number(pieces[k + 1][1], xp, b, "+") for k, b in enumerate(breaks))
    for b, dl, dr in zip(breaks, d1_left, d1_right):
        if not (np.isfinite(dl) and np.isfinite(dr)):
            raise InvalidParameter("expr", f"the {what} must have finite one-sided derivatives at its breakpoint "
                                           f"{x} = {_fmt(float(b))}")
        if dl > dr + NUMERIC_TOL * (1 + abs(dl)):
            raise InvalidParameter("expr", f"the {what} must be convex: {L}' decreases across the kink at {x} = "
                                           f"{_fmt(float(b))} (from {_fmt(dl)} to {_fmt(dr)})")
    checks["convex"] = chk.sign(2, "nonneg", lambda at, v: f"the {what} must be convex: {L}''({x}) < 0 at {x} = "
                                                           f"{_fmt(at)} ({L}'' = {_fmt(v)})")
    if kind == "loss":
        checks["non-increasing"] = chk.sign(
            1, "nonpos", lambda at, v: f"the loss must be non-increasing (the worst-case perturbation shifts every "
                                       f"margin by -eps A(w)): l'(u) > 0 at u = {_fmt(at)} (l' = {_fmt(v)})")
        j0 = int(np.searchsorted(np.asarray([float(b) for b in breaks]), 0.0, side="left"))  # piece left of 0
        slope0 = _number(pieces[j0][1], xp, 0, "-")
    else:
        slope0 = _number(pieces[0][1], xp, 0, "+")
        if not np.isfinite(slope0):
            raise InvalidParameter("expr", "the penalty must have a finite one-sided derivative f'(0+)")
        if slope0 < -NUMERIC_TOL:
            raise InvalidParameter("expr", f"the penalty must be convex: f'(0+) = {_fmt(slope0)} < 0 (an even "
                                           f"convex function is smallest at 0)")
        slope0 = max(slope0, 0.0)
    if not np.isfinite(slope0):
        raise InvalidParameter("expr", f"the {what} must have a finite derivative at {x} = 0")
    return Formula(kind, name, expr, x, tuple(breaks), tuple(pieces), d1_left, d1_right, float(slope0), float(v0),
                   checks)


def _check_even(expr, x) -> str:
    diff = expr.xreplace({x: -x}) - expr
    if diff == 0 or sp.expand(diff) == 0:
        return "symbolic"
    f = sp.lambdify(x, expr, modules=NUMPY_MODULES)
    pts = np.concatenate([np.linspace(0, GRID_HALF_WIDTH, 2001)[1:], np.logspace(-9, 0, 40)])
    a, b = _evaluate(f, pts), _evaluate(f, -pts)
    finite = np.isfinite(a) & np.isfinite(b)
    gap = np.where(finite, np.abs(a - b) - NUMERIC_TOL * (1 + np.abs(a)), 0.0)
    if np.any(gap > 0):
        k = int(np.argmax(gap))
        raise InvalidParameter("expr", f"the penalty must be even (the prior uses the symmetry w -> -w): "
                                       f"f({_fmt(pts[k])}) = {_fmt(a[k])} but f(-{_fmt(pts[k])}) = {_fmt(b[k])}")
    return f"numeric (2041 points on (0, {GRID_HALF_WIDTH:g}], tolerance {NUMERIC_TOL:g} * (1 + |f|))"
