r"""Steepest descent with respect to a parameter-space norm, as ``torch.optim.Optimizer`` subclasses.

With ``g`` the gradient, ``||.||_*`` the dual norm and ``1/p + 1/r = 1`` (spec ``margins.md`` §1.3):

* unnormalized step  ``theta <- theta + lr * Delta(g)``,  ``Delta(g) = argmin_u <g, u> + ||u||^2 / 2``, so that
  ``<g, Delta> = -||g||_*^2`` and ``||Delta|| = ||g||_*``;
* normalized step    ``theta <- theta + lr * Delta_nsd(g)``, ``Delta_nsd(g) = argmin_{||u|| <= 1} <g, u>``.

Closed forms:

======================  ==========================================  ===========================================
norm                    ``Delta``                                   ``Delta_nsd``
======================  ==========================================  ===========================================
l2 (gradient descent)   ``-g``                                      ``-g / ||g||_2``
linf (sign descent)     ``-||g||_1 sign(g)``                        ``-sign(g)``
l1 (greedy coordinate)  ``-g_j e_j``, ``j = argmax |g_k|``          ``-sign(g_j) e_j``
lp, 1 < p < inf         ``-||g||_r^{2-r} sign(g) |g|^{r-1}``        ``-sign(g) |g|^{r-1} / ||g||_r^{r-1}``
spectral                ``-(sum_l ||G_l||_nuc) U_l V_l^T``          ``-U_l V_l^T``  (``G_l = U_l S_l V_l^T``)
======================  ==========================================  ===========================================

``scope="global"`` (the theory's choice) takes the norm of the concatenation of every parameter of every group: one
``||g||_*`` and, for l1, one argmax over all tensors. ``scope="per_tensor"`` applies the rule to each tensor on its
own (a block norm: a different algorithm). ``sign(0) = 0``. A zero gradient gives a zero step (no NaN).

l1 ties (several coordinates attain ``max |g_k|``): ``tie="lowest"`` moves the first one in parameter order (tensors
in ``param_groups`` order, row-major inside a tensor), ``"split"`` moves all of them with the step divided equally
(a convex combination, also steepest), ``"random"`` picks one uniformly with a generator seeded by ``(seed, step)``
so that a ``state_dict`` round trip reproduces the run.

``lr_schedule="loss_scaled"`` uses ``lr_t = min(lr / L_t, max_lr)`` with ``L_t`` the loss returned by the closure
(Gunasekar/Nacson-style fast margin maximisation); it needs ``step(closure)``.

``lr_schedule="dual_scaled"`` uses ``lr_t = min(lr / ||g||_*, max_lr)`` (no closure needed). With ``normalized=True``
every step then lowers the objective by ``lr`` to first order (``<g, lr_t Delta_nsd> = -lr``). Fed ``g = grad log L``
of a homogeneous model this keeps the change of every margin per step ``~ lr``, below the loss's temperature 1,
however large the margins grow -- the condition for the iterates to follow the steepest flow (a fixed normalized lr
changes the margins by ``~ L q / (t lr)`` per step, which grows without bound). On the unnormalized update of ``L``
it is the loss-scaled step ``eta_t = lr / (L_t ||grad log L_t||_*^2)``.
"""
from __future__ import annotations

import math

import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, positive

from .norms import Geometry, as_matrix, parse_norm

SCOPES = ("global", "per_tensor")
TIES = ("lowest", "split", "random")
SCHEDULES = ("constant", "loss_scaled", "dual_scaled")


class SteepestDescent(torch.optim.Optimizer):
    r"""Steepest descent w.r.t. ``norm`` (see the module docstring for the exact updates).

    Parameters
    ----------
    params : iterable of tensors or of dicts (parameter groups)
    lr : float
        Step size ``eta > 0``.
    norm : str, tuple or Geometry
        ``"l2"``, ``"linf"``, ``"l1"``, ``"l<p>"`` / ``("lp", p)``, or ``"spectral"``.
    normalized : bool
        Use ``Delta_nsd`` (unit step in the norm) instead of ``Delta``.
    scope : {"global", "per_tensor"}
    tie : {"lowest", "split", "random"}
        l1 tie-breaking (ignored by other norms).
    seed : int
        Seed of the ``"random"`` tie-breaking.
    lr_schedule : {"constant", "loss_scaled", "dual_scaled"}
    max_lr : float
        Cap of the loss- or dual-scaled step.

    Raises
    ------
    InvalidParameter
        On a bad hyperparameter, or if groups disagree on a global geometry.

    Examples
    --------
    >>> import torch
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    >>> opt = SteepestDescent([w], lr=0.1, norm="linf", normalized=True)
    >>> w.grad = torch.tensor([0.5, -3.0]); opt.step(); w.data
    tensor([ 0.9000, -1.9000])
    """

    def __init__(self, params, lr: float = 1e-2, norm="l2", normalized: bool = False, scope: str = "global",
                 tie: str = "lowest", seed: int = 0, lr_schedule: str = "constant", max_lr: float = 1e5):
        defaults = _validated(dict(lr=lr, norm=norm, normalized=normalized, scope=scope, tie=tie, seed=seed,
                                   lr_schedule=lr_schedule, max_lr=max_lr))
        super().__init__(params, defaults)
        for group in self.param_groups:
            group.update(_validated(group))
        self._check_groups()

    # -- hyperparameters live in param_groups as plain values (norm as its name) so state_dict is picklable/JSON-able
    def _check_groups(self):
        if self.param_groups[0]["scope"] == "global":
            keys = ("norm", "normalized", "scope", "tie", "lr_schedule")
            first = {k: self.param_groups[0][k] for k in keys}
            for group in self.param_groups[1:]:
                if {k: group[k] for k in keys} != first:
                    raise InvalidParameter("param_groups", "global scope needs the same norm, normalized, scope, tie and"
                                           f" lr_schedule in every group; got {first} and "
                                           f"{ {k: group[k] for k in keys} }")

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        self.param_groups[-1].update(_validated(self.param_groups[-1]))
        if len(self.param_groups) > 1:
            self._check_groups()

    @torch.no_grad()
    def step(self, closure=None):
        """One steepest-descent step; returns the closure's loss (or None)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = [(g, [p for p in g["params"] if p.grad is not None]) for g in self.param_groups]
        groups = [(g, ps) for g, ps in groups if ps]
        if not groups:
            return loss
        first = groups[0][0]
        lr_factor = 1.0
        if first["lr_schedule"] == "loss_scaled":
            if loss is None:
                raise InvalidParameter("closure", "lr_schedule='loss_scaled' needs step(closure) returning the loss")
            value = float(loss)
            lr_factor = math.inf if value <= 0 else 1.0 / value
        anchor = groups[0][1][0]
        state = self.state[anchor]
        state["step"] = int(state.get("step", 0)) + 1
        geometry = parse_norm(first["norm"])
        if first["lr_schedule"] == "dual_scaled":
            # one dual norm of all gradients together (per-tensor scope: still the global one, a single clock)
            dual = float(geometry.dual_norm([p.grad for _, ps in groups for p in ps]))
            lr_factor = math.inf if dual == 0.0 else 1.0 / dual
        if first["scope"] == "global":
            params = [p for _, ps in groups for p in ps]
            lrs = [min(g["lr"] * lr_factor, g["max_lr"]) for g, ps in groups for _ in ps]
            _global_step(params, lrs, geometry, first["normalized"], first["tie"], first["seed"], state["step"])
        else:
            for group, ps in groups:
                lr = min(group["lr"] * lr_factor, group["max_lr"])
                geo = parse_norm(group["norm"])
                for p in ps:
                    _global_step([p], [lr], geo, group["normalized"], group["tie"], group["seed"], state["step"])
        return loss


def _validated(group: dict) -> dict:
    out = {}
    out["lr"] = positive("lr", group["lr"])
    out["norm"] = parse_norm(group["norm"]).name
    if not isinstance(group["normalized"], bool):
        raise InvalidParameter("normalized", f"must be a bool, got {group['normalized']!r}")
    out["normalized"] = group["normalized"]
    if group["scope"] not in SCOPES:
        raise InvalidParameter("scope", f"must be one of {SCOPES}, got {group['scope']!r}")
    out["scope"] = group["scope"]
    if group["tie"] not in TIES:
        raise InvalidParameter("tie", f"must be one of {TIES}, got {group['tie']!r}")
    out["tie"] = group["tie"]
    out["seed"] = integer("seed", group["seed"], low=0)
    if group["lr_schedule"] not in SCHEDULES:
        raise InvalidParameter("lr_schedule", f"must be one of {SCHEDULES}, got {group['lr_schedule']!r}")
    out["lr_schedule"] = group["lr_schedule"]
    out["max_lr"] = positive("max_lr", group["max_lr"])
    return out


def _grads(params):
    return [p.grad for p in params]


def _uniform_lr(lrs):
    return all(lr == lrs[0] for lr in lrs)


def _add(params, directions, lrs, scale: float):
    """theta_i += -lr_i * scale * direction_i (foreach when every lr is equal)."""
    if scale == 0.0:
        return
    if _uniform_lr(lrs):
        torch._foreach_add_(params, directions, alpha=-lrs[0] * scale)
    else:
        for p, d, lr in zip(params, directions, lrs):
            p.add_(d, alpha=-lr * scale)


def _global_step(params, lrs, geometry: Geometry, normalized: bool, tie: str, seed: int, step: int):
    grads = _grads(params)
    if geometry.kind == "spectral":
        _spectral_step(params, grads, lrs, normalized)
        return
    p = geometry.p
    if p == 2.0:
        gnorm = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0))))
        if gnorm == 0.0:
            return
        _add(params, grads, lrs, 1.0 / gnorm if normalized else 1.0)
    elif math.isinf(p):
        signs = torch._foreach_sign(grads)
        if normalized:
            _add(params, signs, lrs, 1.0)
        else:
            # ||g||_1 = <g, sign(g)> reuses the signs (faster than a separate l1 reduction on CPU)
            l1 = float(sum(torch.dot(g.reshape(-1), s.reshape(-1)) for g, s in zip(grads, signs)))
            _add(params, signs, lrs, l1)
    elif p == 1.0:
        _coordinate_step(params, grads, lrs, normalized, tie, seed, step)
    else:
        r = geometry.dual_exponent
        gr = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, r)), ord=r))
        if gr == 0.0:
            return
        directions = [torch.sign(g) * g.abs().pow(r - 1.0) for g in grads]
        scale = gr ** (1.0 - r) if normalized else gr ** (2.0 - r)
        _add(params, directions, lrs, scale)


def _coordinate_step(params, grads, lrs, normalized, tie, seed, step):
    maxes = torch.stack([g.detach().abs().max() for g in grads])
    top = float(maxes.max())
    if top == 0.0:
        return
    holders = [i for i in range(len(grads)) if float(maxes[i]) == top]
    if tie == "lowest":
        i = holders[0]
        g = grads[i].reshape(-1)
        j = int(torch.argmax(g.abs()))
        value = float(g[j])
        move = math.copysign(1.0, value) if normalized else value
        params[i].view(-1)[j] -= lrs[i] * move
        return
    positions = [(i, torch.nonzero(grads[i].reshape(-1).abs() == top).reshape(-1)) for i in holders]
    count = sum(int(idx.numel()) for _, idx in positions)
    if tie == "random":
        gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(step))
        pick = int(torch.randint(count, (1,), generator=gen))
        for i, idx in positions:
            if pick < idx.numel():
                j = int(idx[pick])
                value = float(grads[i].reshape(-1)[j])
                move = math.copysign(1.0, value) if normalized else value
                params[i].view(-1)[j] -= lrs[i] * move
                return
            pick -= int(idx.numel())
    # split: a convex combination over the argmax set, each coordinate moving 1/count of the full step
    for i, idx in positions:
        g = grads[i].reshape(-1)[idx]
        move = torch.sign(g) if normalized else g
        params[i].view(-1).index_add_(0, idx, move, alpha=-lrs[i] / count)


def _spectral_step(params, grads, lrs, normalized):
    directions, nuclear = [], 0.0
    for g in grads:
        u, s, vh = torch.linalg.svd(as_matrix(g), full_matrices=False)
        keep = s > s.max() * max(g.shape[0] if g.ndim else 1, 1) * torch.finfo(s.dtype).eps if s.numel() else s
        d = (u[:, keep] @ vh[keep, :]) if s.numel() and bool(keep.any()) else torch.zeros_like(as_matrix(g))
        directions.append(d.reshape(g.shape))
        nuclear += float(s.sum())
    if nuclear == 0.0:
        return
    _add(params, directions, lrs, 1.0 if normalized else nuclear)


class SignGD(SteepestDescent):
    """Normalized linf steepest descent ``theta <- theta - lr * sign(g)`` (= Adam(beta1 = beta2 = 0, eps = 0)).

    A :class:`SteepestDescent` with a fixed norm; the update rules are in the module docstring (``deep.optim.steepest``).

    Parameters
    ----------
    params : iterable of torch.Tensor or of dict
        Parameters, or parameter groups.
    lr : float, default 1e-3
        Step size ``eta > 0``.
    scope : {"global", "per_tensor"}, default "global"
        One norm over every parameter (the theory's choice) or the rule per tensor (a block norm).
    lr_schedule : {"constant", "loss_scaled", "dual_scaled"}, default "constant"
        ``loss_scaled``: ``lr / L_t`` (needs ``step(closure)``); ``dual_scaled``: ``lr / ||g||_*`` (module docstring).
    max_lr : float, default 1e5
        Cap of the loss- or dual-scaled step.

    Examples
    --------
    >>> import torch
    >>> from deep.optim import SignGD
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    >>> opt = SignGD([w], lr=0.1)
    >>> w.grad = torch.tensor([0.3, -4.0, 0.0]); opt.step(); w.data      # sign(0) = 0: that coordinate stays
    tensor([ 0.9000, -1.9000,  0.5000])
    """

    def __init__(self, params, lr: float = 1e-3, scope: str = "global", lr_schedule: str = "constant",
                 max_lr: float = 1e5):
        super().__init__(params, lr=lr, norm="linf", normalized=True, scope=scope, lr_schedule=lr_schedule,
                         max_lr=max_lr)


class GreedyCD(SteepestDescent):
    """l1 steepest descent: greedy (Gauss-Southwell) coordinate descent over all parameters.

    A :class:`SteepestDescent` with a fixed norm; the update rules are in the module docstring (``deep.optim.steepest``).

    Parameters
    ----------
    params : iterable of torch.Tensor or of dict
        Parameters, or parameter groups.
    lr : float, default 1e-2
        Step size ``eta > 0``.
    scope : {"global", "per_tensor"}, default "global"
        One norm over every parameter (the theory's choice) or the rule per tensor (a block norm).
    lr_schedule : {"constant", "loss_scaled", "dual_scaled"}, default "constant"
        ``loss_scaled``: ``lr / L_t`` (needs ``step(closure)``); ``dual_scaled``: ``lr / ||g||_*`` (module docstring).
    max_lr : float, default 1e5
        Cap of the loss- or dual-scaled step.
    normalized : bool, default False
        Unit steps ``-sign(g_j) e_j`` instead of ``-g_j e_j``.
    tie : {"lowest", "split", "random"}, default "lowest"
        Which of several coordinates attaining ``max |g_k|`` moves.
    seed : int, default 0
        Seed of the ``"random"`` tie-breaking (with the step number).

    Examples
    --------
    >>> import torch
    >>> from deep.optim import GreedyCD
    >>> w = torch.nn.Parameter(torch.zeros(3))
    >>> opt = GreedyCD([w], lr=0.5)
    >>> w.grad = torch.tensor([0.1, -2.0, 1.0]); opt.step(); w.data     # only the largest |g_j| moves
    tensor([0., 1., 0.])
    """

    def __init__(self, params, lr: float = 1e-2, normalized: bool = False, scope: str = "global",
                 tie: str = "lowest", seed: int = 0, lr_schedule: str = "constant", max_lr: float = 1e5):
        super().__init__(params, lr=lr, norm="l1", normalized=normalized, scope=scope, tie=tie, seed=seed,
                         lr_schedule=lr_schedule, max_lr=max_lr)


class SpectralDescent(SteepestDescent):
    """Spectral-norm steepest descent with an exact SVD (Muon without momentum); normalized by default.

    A :class:`SteepestDescent` with a fixed norm; the update rules are in the module docstring (``deep.optim.steepest``).

    Parameters
    ----------
    params : iterable of torch.Tensor or of dict
        Parameters, or parameter groups.
    lr : float, default 1e-2
        Step size ``eta > 0``.
    scope : {"global", "per_tensor"}, default "global"
        One norm over every parameter (the theory's choice) or the rule per tensor (a block norm).
    lr_schedule : {"constant", "loss_scaled", "dual_scaled"}, default "constant"
        ``loss_scaled``: ``lr / L_t`` (needs ``step(closure)``); ``dual_scaled``: ``lr / ||g||_*`` (module docstring).
    max_lr : float, default 1e5
        Cap of the loss- or dual-scaled step.
    normalized : bool, default True
        Steps ``-U V^T`` per matrix (else scaled by the sum of the nuclear norms).

    Examples
    --------
    >>> import torch
    >>> from deep.optim import SpectralDescent
    >>> W = torch.nn.Parameter(torch.zeros(2, 2))
    >>> opt = SpectralDescent([W], lr=1.0)
    >>> W.grad = torch.tensor([[3.0, 0.0], [0.0, 1.0]]); opt.step()
    >>> torch.linalg.svdvals(W.data)        # the step -U V^T has every singular value 1
    tensor([1., 1.])
    """

    def __init__(self, params, lr: float = 1e-2, normalized: bool = True, scope: str = "global",
                 lr_schedule: str = "constant", max_lr: float = 1e5):
        super().__init__(params, lr=lr, norm="spectral", normalized=normalized, scope=scope,
                         lr_schedule=lr_schedule, max_lr=max_lr)


class GradientDescent(SteepestDescent):
    """l2 steepest descent: plain GD (``normalized=False``) or ``g/||g||_2`` steps.

    A :class:`SteepestDescent` with a fixed norm; the update rules are in the module docstring (``deep.optim.steepest``).

    Parameters
    ----------
    params : iterable of torch.Tensor or of dict
        Parameters, or parameter groups.
    lr : float, default 1e-2
        Step size ``eta > 0``.
    scope : {"global", "per_tensor"}, default "global"
        One norm over every parameter (the theory's choice) or the rule per tensor (a block norm).
    lr_schedule : {"constant", "loss_scaled", "dual_scaled"}, default "constant"
        ``loss_scaled``: ``lr / L_t`` (needs ``step(closure)``); ``dual_scaled``: ``lr / ||g||_*`` (module docstring).
    max_lr : float, default 1e5
        Cap of the loss- or dual-scaled step.
    normalized : bool, default False
        Steps ``-g/||g||_2`` instead of ``-g``.

    Examples
    --------
    >>> import torch
    >>> from deep.optim import GradientDescent
    >>> w = torch.nn.Parameter(torch.tensor([1.0, 1.0]))
    >>> opt = GradientDescent([w], lr=0.5)
    >>> w.grad = torch.tensor([2.0, -2.0]); opt.step(); w.data
    tensor([0., 2.])
    """

    def __init__(self, params, lr: float = 1e-2, normalized: bool = False, scope: str = "global",
                 lr_schedule: str = "constant", max_lr: float = 1e5):
        super().__init__(params, lr=lr, norm="l2", normalized=normalized, scope=scope, lr_schedule=lr_schedule,
                         max_lr=max_lr)


OPTIMIZERS = {"gd": GradientDescent, "sign": SignGD, "cd": GreedyCD, "spectral": SpectralDescent,
              "steepest": SteepestDescent}


def make_optimizer(name: str, params, lr: float, **options) -> torch.optim.Optimizer:
    """Build an optimizer by registry name: ``gd``, ``sign``, ``cd``, ``spectral``, ``steepest`` or ``adam``.

    ``adam`` is ``torch.optim.Adam`` (options ``betas``, ``eps`` passed through; eps decides the l2 vs linf bias).

    Parameters
    ----------
    name : str
        The registry name (:data:`deep.optim.OPTIMIZERS`, or "adam").
    params : iterable of torch.Tensor or of dict
        Parameters, or parameter groups.
    lr : float
        Step size.
    **options
        Keyword arguments of the optimizer (``normalized``, ``scope``, ``tie``, ``lr_schedule``, ``norm`` for
        ``steepest``; ``betas``, ``eps`` for ``adam``).

    Returns
    -------
    torch.optim.Optimizer

    Raises
    ------
    InvalidParameter
        An unknown name.

    Examples
    --------
    >>> import torch
    >>> from deep.optim import make_optimizer
    >>> opt = make_optimizer("cd", [torch.nn.Parameter(torch.zeros(2))], lr=0.1, tie="split")
    >>> type(opt).__name__, opt.defaults["tie"]
    ('GreedyCD', 'split')
    """
    key = str(name).lower()
    if key == "adam":
        return torch.optim.Adam(params, lr=positive("lr", lr), **options)
    if key not in OPTIMIZERS:
        raise InvalidParameter("name", f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS) + ['adam']}")
    return OPTIMIZERS[key](params, lr=lr, **options)
