"""Rademacher complexity of (adversarially) robust linear classes: bounds, exact dimension factors and a Monte-Carlo
estimate with the exact inner supremum.

Classes (n samples, labels y in {-1, +1}, z_i = y_i x_i):

    F   = { x -> <w, x> : ||w|| <= W }
    F~  = { (x, y) -> min_{||delta||_p <= eps} y <w, x + delta> = y <w, x> - eps ||w||_{p*} : ||w|| <= W }

with ||.|| the lr norm (r in [1, inf]) or the Mahalanobis norm sqrt(w^T Sigma_w w). For Rademacher signs sigma,
u = sum_i sigma_i z_i and s = sum_i sigma_i,

    R_S(F~) = (1/n) E_sigma sup_{||w|| <= W} [ <w, u> - eps s ||w||_{p*} ]            (exact definition)

Bounds used here (derivations in docs/rademacher.md; constants stated there):

* lower:  R_S(F~) >= max{ R_S(F), eps W C E|s| / (2n) }   (R_S(F) by the sign flip sigma -> -sigma; the second
  term from w = +-W v*, v* attaining C), and E|s| >= sqrt(n/2) gives Yin et al.'s eps W C / (2 sqrt(2n));
* upper:  R_S(F~) <= R_S(F) + eps W C E|s| / n <= R_S(F) + eps W C / sqrt(n)   (Cauchy-Schwarz on E|s|);
* dimension factor C = sup_{||w|| <= 1} ||w||_{p*} = max(1, d^{1/p* - 1/r}) for lr balls and
  sqrt(lambda_max(Sigma_w^{-1/2} Sigma_delta Sigma_w^{-1/2})) for Mahalanobis;
* clean parts (Kakade, Sridharan, Tewari 2009): r = 1: W max_i ||x_i||_inf sqrt(2 log(2d) / n);
  r in (1, 2]: W max_i ||x_i||_{r*} sqrt((r* - 1) / n); r >= 2: W d^{1/r* - 1/2} sqrt(sum_i ||x_i||_2^2) / n;
  Mahalanobis: W sqrt(sum_i x_i^T Sigma_w^{-1} x_i) / n.

The inner supremum is a closed form when s >= 0 for p* = 1 (any r) and r = p* = 2, and when s < 0
for p = inf (any r), r = 1 (any p) and r = p* = 2; a convex program (cvxpy, Clarabel) when s >= 0 otherwise; and a
bracket [lower, upper] when s < 0 otherwise (maximising a convex function), reported as such.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import comb

from . import validation as V
from .errors import InvalidParameter
from .geometry import Attack, dual_exponent, parse_attack


@dataclass(frozen=True)
class BallNorm:
    """The constraint set ||w|| <= W: an lr norm (r in [1, inf]) or a Mahalanobis norm sqrt(w^T S w)."""

    r: float
    cov: np.ndarray | None = None     # Sigma_w (full matrix) for the Mahalanobis norm

    @property
    def dual_exponent(self) -> float:
        return 2.0 if self.cov is not None else dual_exponent(self.r)

    def dual(self, u: np.ndarray) -> np.ndarray:
        """Dual norm of each row of u: sup_{||w|| <= 1} <w, u>."""
        if self.cov is not None:
            return np.sqrt(np.einsum("...i,ij,...j->...", u, np.linalg.inv(self.cov), u))
        return np.linalg.norm(u, ord=self.dual_exponent, axis=-1)


def _norm(name: str, r, cov, d: int) -> BallNorm:
    if cov is not None:
        cov = np.asarray(V.spectrum_or_matrix("Sigma_w", cov), dtype=np.float64)
        cov = np.diag(cov) if cov.ndim == 1 else cov
        if cov.shape[0] != d:
            raise InvalidParameter("Sigma_w", f"must have dimension {d}, got {cov.shape[0]}")
        return BallNorm(2.0, cov)
    return BallNorm(V.real(name, r, low=1.0, allow_inf=True))


def dimension_factor(r=None, p=math.inf, d: int = 1, *, cov_w=None, cov_delta=None) -> float:
    """The dimension factor ``C = sup_{||w|| <= 1} ||w||_{p*}`` of a robust linear class.

    ``C = max(1, d^{1/p* - 1/r})`` for lr balls (exact), or ``sqrt(lambda_max(Sigma_w^{-1/2} Sigma_delta
    Sigma_w^{-1/2}))`` when either norm is Mahalanobis (docs/rademacher.md).

    Parameters
    ----------
    r : float or str, optional
        The constraint norm ``||w||_r <= W`` (1, 2, ..., inf; default 2 unless ``cov_w`` is given).
    p : float or str, default inf
        The attack norm ``||delta||_p <= eps`` ("linf", 2, ...); its dual exponent is p*.
    d : int, default 1
        The dimension.
    cov_w : numpy.ndarray, optional
        Sigma_w of a Mahalanobis constraint norm ``sqrt(w^T Sigma_w w)``.
    cov_delta : numpy.ndarray, optional
        Sigma_delta of a Mahalanobis attack.

    Returns
    -------
    float

    Examples
    --------
    >>> import math
    >>> from asymptotics import dimension_factor
    >>> dimension_factor(r=2, p=math.inf, d=100)      # sup ||w||_1 over the unit l2 ball: sqrt(d)
    10.0
    >>> dimension_factor(r=1, p=math.inf, d=100)
    1.0
    """
    d = V.integer("d", d, low=1)
    if cov_w is not None or cov_delta is not None:
        Sw = np.eye(d) if cov_w is None else _as_matrix("Sigma_w", cov_w, d)
        Sd = None if cov_delta is None else _as_matrix("Sigma_delta", cov_delta, d)
        if Sd is None:
            ps = parse_attack(p if not isinstance(p, (int, float)) else Attack.lp(p)).dual_exponent
            if ps != 2.0:
                raise InvalidParameter("p", "a Mahalanobis ball with an lp attack needs p = 2 (or give Sigma_delta)")
            Sd = np.eye(d)
        evals, evecs = np.linalg.eigh(Sw)
        root_inv = evecs @ np.diag(evals ** -0.5) @ evecs.T
        return float(math.sqrt(np.linalg.eigvalsh(root_inv @ Sd @ root_inv).max()))
    r = V.real("r", r, low=1.0, allow_inf=True)
    ps = _dual_exponent(p)
    inv_ps = 0.0 if math.isinf(ps) else 1.0 / ps
    inv_r = 0.0 if math.isinf(r) else 1.0 / r
    return float(max(1.0, d ** (inv_ps - inv_r)))


def _as_matrix(name, cov, d):
    arr = np.asarray(V.spectrum_or_matrix(name, cov), dtype=np.float64)
    arr = np.diag(arr) if arr.ndim == 1 else arr
    if arr.shape[0] != d:
        raise InvalidParameter(name, f"must have dimension {d}, got {arr.shape[0]}")
    return arr


def dimension_factor_symbolic():
    """C(d, r, p*) = Max(1, d^(1/p* - 1/r)) as a sympy expression (symbols d, r, ps)."""
    import sympy as sp

    d, r, ps = sp.symbols("d r ps", positive=True)
    return sp.Max(1, d ** (1 / ps - 1 / r)), (d, r, ps)


def _dual_exponent(p) -> float:
    if isinstance(p, str) or isinstance(p, Attack):
        return parse_attack(p).dual_exponent
    p = V.real("p", p, low=1.0, allow_inf=True)
    return Attack.lp(p).dual_exponent


def _check_data(X, y):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    if X.ndim != 2 or X.shape[0] == 0:
        raise InvalidParameter("X", f"must be a non-empty (n, d) array, got shape {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise InvalidParameter("y", f"must have {X.shape[0]} labels, got {y.shape[0]}")
    if not np.all(np.isfinite(X)):
        raise InvalidParameter("X", "contains NaN or inf")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise InvalidParameter("y", "labels must be -1 or +1")
    return X, y


def expected_abs_rademacher_sum(n: int) -> float:
    """E|sum_{i<=n} sigma_i| exactly (binomial sum); between sqrt(n/2) and sqrt(n)."""
    k = np.arange(n + 1)
    weights = comb(n, k, exact=False) / 2.0 ** n if n <= 1000 else None
    if weights is not None:
        return float(np.sum(weights * np.abs(2 * k - n)))
    return math.sqrt(2.0 * n / math.pi) * (1 - 1 / (4 * n))   # Stirling; error O(n^-2)


@dataclass(frozen=True)
class RademacherBound:
    clean_upper: float          # KST bound on R_S(F)
    robust_upper: float         # clean_upper + eps W C E|s| / n
    robust_lower: float         # max(R_S(F) lower proxy, eps W C E|s| / (2 n))
    dimension_factor: float
    attack_term_upper: float    # eps W C E|s| / n
    attack_term_lower: float    # eps W C E|s| / (2 n)
    n: int
    d: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def clean_bound(X, norm: BallNorm, W: float) -> float:
    """Kakade-Sridharan-Tewari upper bound on R_S(F) (see the module docstring)."""
    n, d = X.shape
    r = norm.r
    if norm.cov is not None:
        return W * math.sqrt(float(np.sum(norm.dual(X) ** 2))) / n
    if r == 1.0:
        return W * float(np.abs(X).max()) * math.sqrt(2.0 * math.log(2.0 * d) / n)
    if r <= 2.0:
        rs = norm.dual_exponent
        return W * float(np.linalg.norm(X, ord=rs, axis=1).max()) * math.sqrt((rs - 1.0) / n)
    rs = norm.dual_exponent
    return W * d ** (1.0 / rs - 0.5) * math.sqrt(float(np.sum(X * X))) / n


def rademacher_bound(X, y=None, *, r=2.0, p=math.inf, eps=0.0, W=1.0, cov_w=None, cov_delta=None) -> RademacherBound:
    """Upper and lower bounds on the empirical Rademacher complexity of the robust class ``F~`` on the sample X.

    ``F~ = {(x, y) -> y <w, x> - eps ||w||_{p*} : ||w||_r <= W}`` (raw inner products; see the module docstring and
    docs/rademacher.md): upper ``R_S(F) + eps W C E|s| / n`` with the Kakade-Sridharan-Tewari clean bound, lower
    ``eps W C E|s| / (2n)`` (the clean part needs R_S(F), which :func:`empirical_rademacher` estimates).

    Parameters
    ----------
    X : numpy.ndarray, shape (n, d)
        The sample.
    y : numpy.ndarray, shape (n,), optional
        Labels in {-1, +1} (the bounds do not depend on them; accepted for symmetry with
        :func:`empirical_rademacher`).
    r : float or str, default 2.0
        The constraint norm (1, 2, ..., inf).
    p : float or str, default inf
        The attack norm.
    eps : float, default 0.0
        The attack radius (raw units of X).
    W : float, default 1.0
        The radius of the constraint ``||w||_r <= W``.
    cov_w, cov_delta : numpy.ndarray, optional
        Mahalanobis constraint norm / attack.

    Returns
    -------
    RademacherBound
        ``clean_upper``, ``robust_upper``, ``robust_lower``, ``dimension_factor``, the attack terms, ``n``, ``d``.

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import rademacher_bound
    >>> X = np.random.default_rng(0).standard_normal((50, 10))
    >>> b = rademacher_bound(X, r=2, p=np.inf, eps=0.1)
    >>> round(b.clean_upper, 4), round(b.robust_upper, 4), bool(b.dimension_factor == np.sqrt(10))
    (0.7346, 0.7701, True)
    """
    X, _ = _check_data(X, np.ones(len(X)) if y is None else y)
    eps = V.nonnegative("eps", eps)
    W = V.positive("W", W)
    n, d = X.shape
    norm = _norm("r", r, cov_w, d)
    C = dimension_factor(norm.r, p, d, cov_w=cov_w, cov_delta=cov_delta) if (cov_w is not None or cov_delta is not None) \
        else dimension_factor(norm.r, p, d)
    Es = expected_abs_rademacher_sum(n)
    clean = clean_bound(X, norm, W)
    up_term = eps * W * C * Es / n
    low_term = eps * W * C * Es / (2.0 * n)
    return RademacherBound(clean, clean + up_term, low_term, C, up_term, low_term, n, d)


@dataclass(frozen=True)
class EmpiricalRademacher:
    """Monte-Carlo estimate of R_S over `draws` sign vectors: mean and a 95% confidence interval."""

    estimate: float
    ci_low: float
    ci_high: float
    stderr: float
    draws: int
    clean_estimate: float       # the same draws for the clean class F (eps = 0)
    exact_inner: bool           # False when some sups are only bracketed (then estimate is the bracket midpoint)
    bracket_width: float        # mean width of the brackets (0 when exact)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _inner_sup(u, s, eps, W, norm: BallNorm, attack_ps: float, cov_delta):
    """sup_{||w|| <= W} <w, u> - eps s A(w) with A(w) = ||w||_{p*} (or sqrt(w^T Sd w)); returns (low, high)."""
    if eps == 0.0 or s == 0.0:
        v = W * float(norm.dual(u))
        return v, v
    c = eps * abs(s)
    maha = cov_delta is not None
    r = norm.r if norm.cov is None else None
    if s > 0:   # concave maximisation
        if not maha and norm.cov is None:
            if attack_ps == 1.0:   # the l1 penalty is linear on each orthant: soft-threshold u
                return (W * float(np.linalg.norm(np.maximum(np.abs(u) - c, 0.0), ord=norm.dual_exponent)),) * 2
            if r == 2.0 and attack_ps == 2.0:
                v = W * max(float(np.linalg.norm(u)) - c, 0.0)
                return v, v
        v = _cvx_concave_sup(u, c, W, norm, attack_ps, cov_delta)
        return v, v
    # s < 0: maximise a convex function over the ball
    if not maha and norm.cov is None:
        if attack_ps == 1.0:          # p = inf: sup_{||w||<=W} <w, u + c v>, v in the box, is largest at v = sign(u)
            v = W * float(np.linalg.norm(np.abs(u) + c, ord=norm.dual_exponent))
            return v, v
        if r == 1.0:                  # a convex function on the l1 ball peaks at a vertex +-W e_j (||e_j||_q = 1)
            v = W * (float(np.abs(u).max()) + c)
            return v, v
        if r == 2.0 and attack_ps == 2.0:
            v = W * (float(np.linalg.norm(u)) + c)
            return v, v
    # bracket: lower from candidate directions, upper from the triangle inequality
    d = u.shape[0]
    C = dimension_factor(norm.r if norm.cov is None else 2.0, Attack.lp(dual_exponent(attack_ps)) if not maha else 2.0, d,
                         cov_w=norm.cov, cov_delta=cov_delta) if (norm.cov is not None or maha) \
        else dimension_factor(norm.r, dual_exponent(attack_ps), d)
    upper = W * (float(norm.dual(u)) + c * C)
    lower = max(_candidate_value(w, u, c, W, norm, attack_ps, cov_delta) for w in _candidates(u, norm, attack_ps))
    return lower, upper


def _attack_value(w, attack_ps, cov_delta):
    if cov_delta is not None:
        return math.sqrt(float(w @ cov_delta @ w))
    return float(np.linalg.norm(w, ord=attack_ps))


def _ball_normalise(w, norm: BallNorm):
    if norm.cov is not None:
        return w / math.sqrt(float(w @ norm.cov @ w))
    return w / np.linalg.norm(w, ord=norm.r)


def _candidates(u, norm, attack_ps):
    d = u.shape[0]
    cands = [u, np.sign(u) + (u == 0), np.eye(d)[int(np.argmax(np.abs(u)))] * np.sign(u[np.argmax(np.abs(u))] or 1)]
    rs = norm.dual_exponent
    if norm.cov is None and not math.isinf(rs):
        cands.append(np.sign(u) * np.abs(u) ** (rs - 1.0))
    return [_ball_normalise(c.astype(np.float64), norm) for c in cands if np.any(c)]


def _candidate_value(w, u, c, W, norm, attack_ps, cov_delta):
    return W * (float(w @ u) + c * _attack_value(w, attack_ps, cov_delta))


def _cvx_concave_sup(u, c, W, norm, attack_ps, cov_delta):
    import cvxpy as cp

    d = u.shape[0]
    w = cp.Variable(d)
    if cov_delta is not None:
        L = np.linalg.cholesky(cov_delta)
        A = cp.norm(L.T @ w, 2)
    else:
        A = cp.norm(w, attack_ps if not math.isinf(attack_ps) else "inf")
    if norm.cov is not None:
        Lw = np.linalg.cholesky(norm.cov)
        ball = cp.norm(Lw.T @ w, 2) <= W
    else:
        ball = cp.norm(w, norm.r if not math.isinf(norm.r) else "inf") <= W
    prob = cp.Problem(cp.Maximize(u @ w - c * A), [ball])
    prob.solve(solver=cp.CLARABEL)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"inner supremum: solver status {prob.status}")
    return max(float(prob.value), 0.0)


def empirical_rademacher(X, y, *, r=2.0, p=math.inf, eps=0.0, W=1.0, cov_w=None, cov_delta=None, draws=200,
                         seed=0) -> EmpiricalRademacher:
    """Monte-Carlo estimate of the empirical Rademacher complexity ``R_S(F~)`` with the exact inner supremum.

    The mean over ``draws`` Rademacher vectors (from ``numpy.random.default_rng(seed)``, drawn as antithetic pairs
    sigma, -sigma, which leaves the mean unbiased and removes the first-order noise of the +-eps s A(w) term), its
    standard error over pairs and a 95% normal confidence interval, and the clean complexity R_S(F) from the same
    draws. Where the inner supremum has no closed form it is a convex program (s >= 0) or a bracket (s < 0,
    ``exact_inner=False``).

    Parameters
    ----------
    X : numpy.ndarray, shape (n, d)
        The sample.
    y : numpy.ndarray, shape (n,)
        Labels in {-1, +1}.
    r, p, eps, W, cov_w, cov_delta
        The class, as for :func:`rademacher_bound`.
    draws : int, default 200
        Rademacher vectors (an even number is used: antithetic pairs).
    seed : int, default 0
        Seed of the sign vectors.

    Returns
    -------
    EmpiricalRademacher
        ``estimate``, ``ci_low``, ``ci_high``, ``stderr``, ``draws``, ``clean_estimate``, ``exact_inner``,
        ``bracket_width``.

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import empirical_rademacher, rademacher_bound
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 10)); y = np.sign(X[:, 0])
    >>> est = empirical_rademacher(X, y, r=2, p=np.inf, eps=0.1, draws=20)
    >>> bound = rademacher_bound(X, y, r=2, p=np.inf, eps=0.1)
    >>> bound.robust_lower <= est.estimate <= bound.robust_upper
    True
    """
    X, y = _check_data(X, y)
    eps = V.nonnegative("eps", eps)
    W = V.positive("W", W)
    draws = V.integer("draws", draws, low=2)
    n, d = X.shape
    norm = _norm("r", r, cov_w, d)
    Sd = None if cov_delta is None else _as_matrix("Sigma_delta", cov_delta, d)
    attack_ps = 2.0 if Sd is not None else _dual_exponent(p)
    rng = np.random.default_rng(seed)
    Z = y[:, None] * X
    half = (draws + 1) // 2
    base = rng.choice([-1.0, 1.0], size=(half, n))
    sigma = np.vstack([base, -base])          # antithetic pairs: the +-s attack terms cancel to first order
    U = sigma @ Z
    S = sigma.sum(axis=1)
    lows, highs = np.empty(2 * half), np.empty(2 * half)
    for k in range(2 * half):
        lows[k], highs[k] = _inner_sup(U[k], S[k], eps, W, norm, attack_ps, Sd)
    pair_values = 0.5 * (0.5 * (lows + highs) / n).reshape(2, half).sum(axis=0)
    clean = W * norm.dual(U) / n
    draws = 2 * half
    mean, se = float(pair_values.mean()), float(pair_values.std(ddof=1) / math.sqrt(half))
    width = float(np.mean(highs - lows) / n)
    return EmpiricalRademacher(mean, mean - 1.96 * se - width / 2, mean + 1.96 * se + width / 2, se, draws,
                               float(clean.mean()), width == 0.0, width)


def robust_margin_bound(w, X, y, *, eps, gamma, r=2.0, p=math.inf, delta=0.05, complexity=None) -> dict:
    """Robust margin generalization bound for a trained linear predictor w (Mohri et al. 2018, Thm 5.8 form).

    ``R_eps(w) <= (1/n) sum_i 1[y_i <w, x_i> - eps ||w||_{p*} <= gamma] + (2/gamma) R_S(F~)
    + 3 sqrt(log(2/delta)/(2n))``, with the class radius ``W = ||w||_r``.

    Parameters
    ----------
    w : numpy.ndarray, shape (d,)
        The predictor.
    X : numpy.ndarray, shape (n, d)
        The sample.
    y : numpy.ndarray, shape (n,)
        Labels in {-1, +1}.
    eps : float
        The attack radius.
    gamma : float
        The margin (> 0).
    r : float or str, default 2.0
        The norm defining the class radius ``W = ||w||_r``.
    p : float or str, default inf
        The attack norm.
    delta : float, default 0.05
        The bound holds with probability >= 1 - delta.
    complexity : float, optional
        R_S(F~) (default: the upper bound of :func:`rademacher_bound`).

    Returns
    -------
    dict
        ``empirical_margin_loss``, ``complexity_term``, ``confidence_term``, ``bound`` (their sum; a bound on a
        probability, informative only when < 1) and ``W``.

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import robust_margin_bound
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 10)); y = np.sign(X[:, 0])
    >>> w = np.eye(10)[0]
    >>> out = robust_margin_bound(w, X, y, eps=0.1, gamma=0.1)
    >>> out["empirical_margin_loss"], out["W"]
    (0.14, 1.0)
    """
    X, y = _check_data(X, y)
    w = np.asarray(w, dtype=np.float64).ravel()
    gamma = V.positive("gamma", gamma)
    eps = V.nonnegative("eps", eps)
    delta = V.real("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    n = X.shape[0]
    norm = _norm("r", r, None, X.shape[1])
    W = float(np.linalg.norm(w, ord=norm.r))
    ps = _dual_exponent(p)
    robust_margins = y * (X @ w) - eps * float(np.linalg.norm(w, ord=ps))
    empirical = float(np.mean(robust_margins <= gamma))
    if complexity is None:
        complexity = rademacher_bound(X, y, r=r, p=p, eps=eps, W=W).robust_upper
    confidence = 3.0 * math.sqrt(math.log(2.0 / delta) / (2.0 * n))
    return {"empirical_margin_loss": empirical, "complexity_term": 2.0 * complexity / gamma,
            "confidence_term": confidence, "bound": empirical + 2.0 * complexity / gamma + confidence, "W": W}
