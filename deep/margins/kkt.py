r"""KKT and Bregman/Fenchel-Young residuals of a homogeneous network for the margin problem
``min ||theta||^2 / 2  s.t.  q_i(theta) >= 1`` (spec ``margins.md`` §1.5, §2.2, §5.2).

Recipe: per-sample gradients ``h_i = grad q_i(theta)`` (``torch.func.vmap(grad)``) at the current ``theta``; rescale
to ``theta^ = theta / q_min^{1/L}`` (so ``q_min(theta^) = 1``) using ``grad q_i(theta^) = q_min^{-(L-1)/L} h_i``
((L-1)-homogeneity of gradients). Then, with ``H`` the matrix of rescaled gradients:

* ``norm="l2"``: ``lambda = argmin_{lambda >= 0} ||theta^ - H^T lambda||_2`` (NNLS solved on the m x m Gram matrix,
  residual recomputed in parameter space); ``stationarity = ||theta^ - H^T lambda|| / ||theta^||`` (Lyu-Li's eps).
* ``norm="linf"`` / ``"l1"``: the scale-free LP ``beta* = max { <theta^, H^T lambda> / ||theta^|| :
  lambda >= 0, ||H^T lambda||_* <= 1 }`` (scipy HiGHS), ``lambda_KKT = ||theta^|| lambda_LP``; other ``lp`` norms use
  cvxpy/Clarabel. ``stationarity`` is the relative Fenchel-Young gap
  ``F(theta^, s) / (||theta^||^2 / 2)``, ``F(x, s) = ||x||^2/2 + ||s||_*^2/2 - <s, x>``, ``s = H^T lambda``.
* every norm: ``alignment_gap = 1 - beta*`` (0 iff stationary up to scale), ``fenchel_young = 1 - beta*^2``
  (= ``min_c F(theta^, c s) / (||theta^||^2 / 2)``), complementary slackness
  ``sum_i lambda_i (q^_i - 1) / sum_i lambda_i``, and the identity ``sum_i lambda_i = ||theta^||^2 / L`` that holds at
  a KKT point (``multiplier_sum`` vs ``multiplier_target``).

``tau`` restricts the multipliers to the near-active set ``q_i / q_min <= 1 + tau`` (emulating complementary
slackness); ``None`` uses every sample. ReLU kinks: autograd returns one Clarke subgradient (documented limitation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.func import functional_call, grad, vmap

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative

from ..optim.norms import parse_norm
from .margins import model_order, output_margins


@dataclass(frozen=True)
class KKTResidual:
    """Stationarity evidence for the margin problem at ``theta^ = theta / q_min^{1/L}`` (see the module docstring).

    Attributes
    ----------
    norm : str
        The parameter-space norm.
    order : float
        The homogeneity order L.
    q_min : float
        The smallest margin at ``theta``.
    stationarity : float
        Relative distance of ``theta^`` from the cone of the per-sample gradients (l2) or the relative Fenchel-Young
        gap (other norms).
    alignment_gap : float
        ``1 - beta*`` (0 iff stationary up to scale).
    fenchel_young : float
        ``1 - beta*^2``.
    complementary_slackness : float
        ``sum_i lambda_i (q^_i - 1) / sum_i lambda_i``.
    multiplier_sum, multiplier_target : float
        ``sum_i lambda_i`` and ``||theta^||^2 / L`` (equal at a KKT point).
    n_active : int
        Samples carrying multipliers.
    lambdas : numpy.ndarray
        The multipliers.

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet
    >>> net = DiagonalNet(2, depth=1, parametrization="product")          # f(x) = <w, x>, order 1
    >>> with torch.no_grad():
    ...     _ = net.factors[0].copy_(torch.tensor([1.0, 0.0]))
    >>> X = torch.tensor([[1.0, 0.0], [-2.0, 1.0]]); y = torch.tensor([1.0, -1.0])    # margins q = (1, 2)
    >>> from deep.margins import kkt_residual_network
    >>> r = kkt_residual_network(net, X, y)
    >>> r.stationarity < 1e-8, round(r.multiplier_sum, 6), r.multiplier_target
    (True, 1.0, 1.0)
    """

    norm: str
    order: float
    q_min: float
    stationarity: float
    alignment_gap: float
    fenchel_young: float
    complementary_slackness: float
    multiplier_sum: float
    multiplier_target: float
    n_active: int
    lambdas: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("norm", "order", "q_min", "stationarity", "alignment_gap",
                                             "fenchel_young", "complementary_slackness", "multiplier_sum",
                                             "multiplier_target", "n_active")}
        out["lambdas"] = self.lambdas.tolist()
        return out


def per_sample_gradients(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor,
                         chunk_size: int | None = 256) -> torch.Tensor:
    """Matrix ``(m, p)`` of ``grad_theta q_i`` (parameters in ``model.named_parameters()`` order, flattened).

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    X : torch.Tensor
        Inputs (m of them).
    y : torch.Tensor
        Labels.
    chunk_size : int, optional
        ``vmap`` chunk (None: all at once).

    Returns
    -------
    torch.Tensor
        Shape (m, p).

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet
    >>> net = DiagonalNet(2, depth=1, parametrization="product")          # f(x) = <w, x>, order 1
    >>> with torch.no_grad():
    ...     _ = net.factors[0].copy_(torch.tensor([1.0, 0.0]))
    >>> X = torch.tensor([[1.0, 0.0], [-2.0, 1.0]]); y = torch.tensor([1.0, -1.0])    # margins q = (1, 2)
    >>> from deep.margins import per_sample_gradients
    >>> per_sample_gradients(net, X, y)                   # grad of q_i = y_i <w, x_i> is y_i x_i
    tensor([[ 1.,  0.],
            [ 2., -1.]])
    """
    names = [n for n, _ in model.named_parameters()]
    params = {n: p.detach() for n, p in model.named_parameters()}

    def margin_one(ps, x, label):
        out = functional_call(model, ps, (x.unsqueeze(0),))
        return output_margins(out, label.unsqueeze(0))[0]

    grads = vmap(grad(margin_one), in_dims=(None, 0, 0), chunk_size=chunk_size)(params, X, y)
    return torch.cat([grads[n].reshape(X.shape[0], -1) for n in names], dim=1)


def _nnls_gram(H: np.ndarray, target: np.ndarray) -> np.ndarray:
    """argmin_{lambda >= 0} ||target - H^T lambda|| through the eigendecomposition of the Gram matrix H H^T."""
    from scipy.optimize import nnls

    gram = H @ H.T
    b = H @ target
    evals, vecs = np.linalg.eigh(gram)
    keep = evals > max(evals.max(), 0.0) * 1e-13 * max(gram.shape[0], 1)
    if not keep.any():
        return np.zeros(H.shape[0])
    root = np.sqrt(evals[keep])
    A = root[:, None] * vecs[:, keep].T
    c = (vecs[:, keep].T @ b) / root
    lam, _ = nnls(A, c, maxiter=50 * H.shape[0] + 100)
    return lam


def _beta_lp(H: np.ndarray, theta: np.ndarray, p: float) -> np.ndarray:
    """LP/conic: max <theta, H^T lam> s.t. lam >= 0, ||H^T lam||_r <= 1 (r dual to p); returns lam."""
    m, d = H.shape
    if math.isinf(p) or p == 1.0:
        from scipy import sparse
        from scipy.optimize import linprog

        c_lam = -(H @ theta)
        if p == 1.0:        # dual linf: -1 <= H^T lam <= 1
            A = np.vstack([H.T, -H.T])
            res = linprog(c_lam, A_ub=A, b_ub=np.ones(2 * d), bounds=[(0, None)] * m, method="highs")
        else:               # dual l1: |H^T lam| <= s, sum s <= 1
            Ht = sparse.csr_matrix(H.T)
            eye = sparse.identity(d, format="csr")
            A = sparse.vstack([sparse.hstack([Ht, -eye]), sparse.hstack([-Ht, -eye]),
                               sparse.hstack([sparse.csr_matrix((1, m)), sparse.csr_matrix(np.ones((1, d)))])])
            b = np.concatenate([np.zeros(2 * d), [1.0]])
            res = linprog(np.concatenate([c_lam, np.zeros(d)]), A_ub=A.tocsc(), b_ub=b,
                          bounds=[(0, None)] * (m + d), method="highs")
        if res.status != 0:
            raise RuntimeError(f"KKT LP failed: {res.message}")
        return np.maximum(res.x[:m], 0.0)
    import cvxpy as cp

    r = parse_norm(f"l{p:g}").dual_exponent
    lam = cp.Variable(m, nonneg=True)
    prob = cp.Problem(cp.Maximize(theta @ (H.T @ lam)), [cp.norm(H.T @ lam, r) <= 1])
    prob.solve(solver=cp.CLARABEL)
    return np.maximum(np.asarray(lam.value, dtype=float), 0.0)


def _lp_norm(v: np.ndarray, p: float) -> float:
    return float(np.linalg.norm(v, ord=p))


def kkt_residual_network(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, norm="l2", order=None,
                         tau: float | None = None, max_params: int | None = None,
                         chunk_size: int | None = 256) -> KKTResidual:
    """KKT / Bregman residuals of ``model`` for the margin problem in ``norm`` (see module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        An ``order``-homogeneous model with ``q_min > 0`` on ``(X, y)``.
    X, y : torch.Tensor
        Training inputs and labels (binary +-1 with outputs (n,), or class indices with logits).
    norm : {"l2", "linf", "l1", "l<p>"}
        The parameter-space norm of the margin problem.
    order : float, optional
        Homogeneity order (default ``model.order``).
    tau : float, optional
        Near-active tolerance for the multipliers (None: every sample).
    max_params : int, optional
        Guard on ``p`` (default 2e6 for l2, 2e4 for the LP norms).
    chunk_size : int, optional
        ``vmap`` chunk for per-sample gradients.

    Raises
    ------
    InvalidParameter
        If the data is not fitted (``q_min <= 0``), the model is too large, or the norm is spectral.

    Returns
    -------
    KKTResidual

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet
    >>> net = DiagonalNet(2, depth=1, parametrization="product")          # f(x) = <w, x>, order 1
    >>> with torch.no_grad():
    ...     _ = net.factors[0].copy_(torch.tensor([1.0, 0.0]))
    >>> X = torch.tensor([[1.0, 0.0], [-2.0, 1.0]]); y = torch.tensor([1.0, -1.0])    # margins q = (1, 2)
    >>> from deep.margins import kkt_residual_network
    >>> kkt_residual_network(net, X, y, norm="linf").alignment_gap < 1e-8
    True
    """
    geo = parse_norm(norm)
    if geo.kind != "lp":
        raise InvalidParameter("norm", "KKT residuals are implemented for lp norms only")
    L = model_order(model, order)
    if tau is not None:
        nonnegative("tau", tau)
    n_params = sum(p.numel() for p in model.parameters())
    limit = max_params if max_params is not None else (2_000_000 if geo.p == 2.0 else 20_000)
    integer("max_params", limit, low=1)
    if n_params > limit:
        raise InvalidParameter("max_params", f"model has {n_params} parameters > {limit}; raise max_params or use l2")
    with torch.no_grad():
        q = output_margins(model(X), y).double().cpu().numpy()
    q_min = float(q.min())
    if not q_min > 0:
        raise InvalidParameter("X", f"the data must be fitted (q_min > 0) for the margin problem, got q_min = {q_min}")
    H = per_sample_gradients(model, X, y, chunk_size).double().cpu().numpy()
    theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double().cpu().numpy()
    theta_hat = theta / q_min ** (1.0 / L)
    H_hat = H * q_min ** (-(L - 1.0) / L)
    q_hat = q / q_min
    active = np.arange(len(q)) if tau is None else np.nonzero(q_hat <= 1.0 + tau)[0]
    Ha = H_hat[active]
    p = geo.p
    nrm = _lp_norm(theta_hat, p)
    if p == 2.0:
        lam_a = _nnls_gram(Ha, theta_hat)
        s = Ha.T @ lam_a
        stationarity = float(np.linalg.norm(theta_hat - s)) / nrm
    else:
        lam_a = _beta_lp(Ha, theta_hat, p) * nrm
        s = Ha.T @ lam_a
    r = geo.dual_exponent
    s_dual = _lp_norm(s, r)
    beta = float(theta_hat @ s) / (nrm * s_dual) if s_dual > 0 else 0.0
    if p != 2.0:
        stationarity = (0.5 * nrm ** 2 + 0.5 * s_dual ** 2 - float(s @ theta_hat)) / (0.5 * nrm ** 2)
    lambdas = np.zeros(len(q))
    lambdas[active] = lam_a
    total = float(lambdas.sum())
    cs = float(lambdas @ (q_hat - 1.0)) / total if total > 0 else math.nan
    return KKTResidual(norm=geo.name, order=L, q_min=q_min, stationarity=float(stationarity),
                       alignment_gap=1.0 - beta, fenchel_young=1.0 - beta ** 2, complementary_slackness=cs,
                       multiplier_sum=total, multiplier_target=nrm ** 2 / L, n_active=int(len(active)),
                       lambdas=lambdas)
