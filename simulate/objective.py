"""The finite-d robust training objective, built from the :mod:`asymptotics` problem objects.

.. math::

    F(w) = \\sum_{i=1}^n \\ell\\big(z_i \\cdot w - \\varepsilon A(w)\\big) + \\lambda R(w),
    \\qquad z_i = y_i x_i / \\sqrt{d},

with the loss ``pb.loss`` (``Loss.value``), the attack term ``A = pb.attack.margin_shift`` (``||w||_{p*}/d^{1/p*}``
for lp attacks, ``||w||_inf`` for l1, ``sqrt(w^T Sigma_delta w / d)`` for Mahalanobis) and the regularizer
``R = pb.reg.value`` (``sum |w_j|^r`` without 1/r, or ``w^T Sigma_w w`` without 1/2). :meth:`RobustObjective.value`
evaluates exactly these methods (the reference); the numba path (:meth:`smooth_value_grad`) is tested against it.

Gradients used by the solvers (derivatives of the objects' functions, checked by finite differences):
``grad A = A'(P) grad P`` with ``A'`` = ``Attack.term_derivative`` and ``grad P = p* |w|^{p*-1} sign(w) / d``
(lp) or ``2 Sigma_delta w / d`` (Mahalanobis); ``grad R = r |w|^{r-1} sign(w)`` or ``2 Sigma_w w``.

Formula losses and penalties (``Loss.from_sympy``, ``Regularizer.from_sympy``) use their generated numba kernels:
the loss pass is ``Z w`` then ``l, l'`` then ``Z^T l'`` (two passes over Z instead of one fused pass); a penalty ``f``
splits into the soft threshold ``f'(0+) |w_j|`` (FISTA's prox, like l1) and the smooth ``f(w_j) - f'(0+)|w_j|``
(gradient). Both need a continuous derivative (away from 0 for the penalty): L-BFGS and FISTA only; the cvxpy
reference supports no formula (``simulate.reference`` raises).
"""
from __future__ import annotations

import math

import numpy as np

from asymptotics import Problem
from asymptotics.errors import InvalidParameter
from asymptotics.geometry import expand_spectrum
from asymptotics.losses import FormulaLoss

from . import _kernels as K


def product(M: np.ndarray, w: np.ndarray) -> np.ndarray:
    """M w for a C-contiguous float64 matrix (serial numba kernel: immune to BLAS thread oversubscription)."""
    out = np.empty(M.shape[0])
    K.matvec(np.ascontiguousarray(M, dtype=np.float64), np.ascontiguousarray(w, dtype=np.float64), out)
    return out


def _apply(cov, w):
    return cov * w if cov.ndim == 1 else cov @ w


def attack_kind(pb: Problem) -> str:
    """How the attack term enters: "none" (eps = 0), "lp", "mahalanobis", "l1norm" (p* = 1) or "maxnorm" (p* = inf)."""
    ps = pb.attack.dual_exponent
    if pb.eps == 0:
        return "none"
    if pb.attack.kind == "mahalanobis":
        return "mahalanobis"
    return "l1norm" if ps == 1.0 else ("maxnorm" if math.isinf(ps) else "lp")


def _formula_loss(pb: Problem):
    return pb.loss if isinstance(pb.loss, FormulaLoss) else None


def smoothness(pb: Problem) -> tuple[bool, bool, bool]:
    """(smooth loss, smooth attack term, smooth regularizer) of a problem: what the solvers need, known before any
    data is drawn.

    Raises
    ------
    InvalidParameter : a formula loss with a kink (its l' jumps) or a formula penalty whose f' jumps away from 0:
        no finite-d solver handles them (L-BFGS and FISTA need the derivative; the cvxpy reference takes no formula).
    """
    loss, pen = _formula_loss(pb), pb.reg.penalty
    if loss is not None and not loss.smooth:
        kinks = [b for b, dl, dr in zip(loss.formula.breaks_float, loss.formula.d1_left, loss.formula.d1_right)
                 if dr != dl]
        raise InvalidParameter("loss", f"the formula loss {loss.name!r} has kinks (l' jumps at u = {kinks}): the "
                                       "finite-d solvers L-BFGS and FISTA need a continuous l', and the cvxpy "
                                       "reference does not support formula losses; smooth the kink")
    if pen is not None:
        if pb.lam > 0 and not pen.smooth_away_from_zero:
            raise InvalidParameter("reg", f"the formula penalty {pen.name!r} has a kink away from 0 (f' jumps at "
                                          f"x = {list(pen.formula.breaks_float)}): the finite-d solvers handle a kink "
                                          "at 0 only (a soft threshold); the cvxpy reference does not support formulas")
        smooth_reg = pb.lam == 0 or pen.kink == 0.0
    else:
        smooth_reg = pb.reg.r > 1.0 or pb.lam == 0
    return (pb.loss.smooth, attack_kind(pb) in ("none", "lp", "mahalanobis"), smooth_reg)


class RobustObjective:
    """The robust objective F(w) for one problem ``pb`` and one training set (X, y).

    ``F(w) = sum_i loss(y_i w.x_i/sqrt(d) - eps A(w)) + lam R(w)``, with the attack term ``A`` and the regularizer
    ``R`` of ``pb`` (the conventions of :mod:`asymptotics`; the module docstring has the details).

    Parameters
    ----------
    pb : asymptotics.Problem
        The point (alpha, eps, lam, attack, regularizer, loss).
    X : numpy.ndarray, shape (n, d)
        The training inputs.
    y : numpy.ndarray, shape (n,)
        Labels in {-1, +1}.

    Attributes
    ----------
    Z : numpy.ndarray, shape (n, d)
        Rows ``y_i x_i / sqrt(d)`` (C-contiguous float64; the only O(nd) data the solvers read).
    smooth_attack : bool
        A is differentiable away from w = 0 (p* in (1, inf) or Mahalanobis) or eps = 0.
    smooth_reg : bool
        R is differentiable (r > 1 or Mahalanobis).
    code : int
        The numba loss code.

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import Problem
    >>> from simulate import RobustObjective
    >>> pb = Problem.from_point(alpha=0.5, eps=0.1, lam=0.1)
    >>> X = np.random.default_rng(0).standard_normal((50, 100)); y = np.sign(X[:, 0])
    >>> obj = RobustObjective(pb, X, y)
    >>> bool(np.isclose(obj.value(np.zeros(100)), 50 * np.log(2)))     # 50 logistic losses at margin 0
    True
    """

    def __init__(self, pb: Problem, X: np.ndarray, y: np.ndarray):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise InvalidParameter("X", f"expected X of shape (n, d) and y of shape (n,), got {X.shape}, {y.shape}")
        if not np.all(np.abs(y) == 1):
            raise InvalidParameter("y", "labels must be +-1")
        self.pb = pb
        self.n, self.d = X.shape
        self.Z = np.ascontiguousarray(X * (y / math.sqrt(self.d))[:, None])
        self.formula_loss = _formula_loss(pb)
        self.penalty = pb.reg.penalty              # a FormulaPenalty, or None
        self.code = None if self.formula_loss is not None else K.LOSS_CODES[pb.loss.name]
        self.eps = pb.eps
        self.lam = pb.lam
        self.attack_kind = attack_kind(pb)
        self.smooth_loss, self.smooth_attack, self.smooth_reg = smoothness(pb)
        self.reg_threshold = pb.lam * pb.reg.subgradient_at_zero   # lam f'(0+): FISTA's soft threshold (lam for l1)
        self._cov_delta = (expand_spectrum(pb.attack.covariance, self.d) if pb.attack.covariance is not None
                           else None)
        self._cov_w = expand_spectrum(pb.reg.covariance, self.d) if pb.reg.covariance is not None else None

    # ---- reference evaluation through the asymptotics objects ------------------------------------------------
    def attack_term(self, w) -> float:
        """eps * A(w) (0 when eps = 0)."""
        return self.eps * self.pb.attack.margin_shift(w) if self.eps > 0 else 0.0

    def margins(self, w) -> np.ndarray:
        """Robust training margins u_i = y_i w.x_i/sqrt(d) - eps A(w)."""
        return product(self.Z, w) - self.attack_term(w)

    def value(self, w) -> float:
        """F(w) from Loss.value, Attack.margin_shift and Regularizer.value (the reference the kernels match)."""
        w = np.asarray(w, dtype=np.float64)
        data = float(np.sum(self.pb.loss.value(self.margins(w))))
        return data + (self.lam * self.pb.reg.value(w) if self.lam > 0 else 0.0)

    # ---- gradients of the smooth pieces -------------------------------------------------------------------------
    def attack_gradient(self, w) -> np.ndarray:
        """grad A(w) = A'(P) grad P for a smooth attack (zero vector at w = 0, a valid subgradient)."""
        att = self.pb.attack
        P = att.functional(w)
        if P <= 0:
            return np.zeros_like(w)
        if self.attack_kind == "mahalanobis":
            gP = 2.0 * _apply(self._cov_delta, w) / self.d
        else:
            ps = att.dual_exponent
            gP = ps * np.abs(w) ** (ps - 1.0) * np.sign(w) / self.d
        return att.term_derivative(P) * gP

    def loss_sum(self, u):
        """(sum_i l(u_i), sum_i l'(u_i))."""
        if self.code is None:
            return self.formula_loss.value_d1_sums(u, np.empty(u.shape[0]))
        return K.loss_sum(self.code, u)

    def loss_derivatives(self, u) -> np.ndarray:
        """l'(u_i) elementwise."""
        if self.code is None:
            d1 = np.empty(u.shape[0])
            self.formula_loss.value_d1_sums(u, d1)
            return d1
        return K.loss_derivatives(self.code, u)

    def smooth_reg_value(self, w) -> float:
        """lam times the smooth part of R: all of R when smooth, f(w) - f'(0+)|w| for a formula penalty, else 0."""
        if self.lam == 0:
            return 0.0
        if self.penalty is not None:
            return self.lam * self.penalty.smooth_value_grad(w)[0]
        return self.lam * self.pb.reg.value(w) if self.smooth_reg else 0.0

    def reg_gradient(self, w) -> np.ndarray:
        """grad R(w) for a smooth regularizer (for a formula penalty: the gradient of its smooth part)."""
        reg = self.pb.reg
        if self.penalty is not None:
            return self.penalty.smooth_value_grad(w)[1]
        if reg.kind == "mahalanobis":
            return 2.0 * _apply(self._cov_w, w)
        r = reg.r
        return 2.0 * w if r == 2.0 else r * np.abs(w) ** (r - 1.0) * np.sign(w)

    def smooth_value_grad(self, w, grad_out=None, margins_out=None):
        """(F(w), grad F(w)) for a smooth loss, attack and regularizer: one fused numba pass over Z.

        Only the smooth pieces enter: the attack if ``smooth_attack`` and the regularizer if ``smooth_reg`` (a
        proximal solver adds the others through its prox)."""
        grad = np.empty(self.d) if grad_out is None else grad_out
        margins = np.empty(self.n) if margins_out is None else margins_out
        shift = self.attack_term(w) if self.smooth_attack else 0.0
        if self.code is None:       # formula loss: Z w, then l and l', then Z^T l'
            K.matvec(self.Z, np.ascontiguousarray(w, dtype=np.float64), margins)
            margins -= shift
            d1 = np.empty(self.n)
            val, sum_d1 = self.formula_loss.value_d1_sums(margins, d1)
            K.rmatvec(self.Z, d1, grad)
        else:
            val, sum_d1 = K.data_value_grad(self.Z, w, shift, self.code, grad, margins)
        return val + self.add_smooth_terms(w, sum_d1, grad), grad

    def add_smooth_terms(self, w, sum_d1, grad) -> float:
        """Add the smooth attack term's chain rule (sum_d1 = sum_i l'(u_i)) and the smooth regularizer's gradient to
        ``grad`` in place; return the regularizer's value."""
        if self.attack_kind in ("lp", "mahalanobis"):
            grad -= (self.eps * sum_d1) * self.attack_gradient(w)
        if self.lam > 0 and (self.smooth_reg or self.penalty is not None):
            grad += self.lam * self.reg_gradient(w)
            return self.smooth_reg_value(w)
        return 0.0

    def nonsmooth_value(self, w) -> float:
        """lam f'(0+) ||w||_1 (lam ||w||_1 when r = 1): the part a proximal solver handles through its prox."""
        return self.reg_threshold * float(np.sum(np.abs(w))) if not self.smooth_reg else 0.0
