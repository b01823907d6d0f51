r"""Training-free adversarial examples (attacks on the NTK predictor) and their transfer to finite-width networks
trained in the lazy regime (Tsilivis & Kempe 2022, claim (a); spec deep_robustness_ntk.md §1.4 item 1).

Kernel side: ``f(x) = Theta(x, X) (Theta(X, X) + ridge I)^{-1} Y`` with the analytic ReLU NTK of the same architecture
(depth, sigma_w, sigma_b) as the networks; FGSM/PGD linf on the logistic loss ``log(1 + exp(-y f(x)))`` (= binary
cross-entropy with ``f`` as logit, the notebook's loss), no random start, inputs clipped to [0, 1].
Network side: :class:`~deep.ntk.model.NTKMLP` of width ``n`` trained by full-batch GD on the halved mean squared error
to +-1 targets (lazy regime: NTK parameterisation, moderate learning rate), outputs centred by subtracting the initial
function (``f_net(x) - f_0(x)``, so that the infinite-width limit of the trained net is exactly the kernel predictor
rather than kernel predictor + a random GP draw; switch off with ``center=False``).
"""
from __future__ import annotations

import torch

from asymptotics.validation import integer, nonnegative, positive

from .model import NTKMLP
from .regression import KernelMachine, predictions_accuracy
from .training import train_mse


def kernel_attack(machine, X, y, eps: float, attack: str = "pgd", steps: int = 10, step_size: float | None = None):
    """FGSM or PGD (linf, no random start, step ``eps/4`` by default) against a kernel machine; detached tensor."""
    from deep.attacks import fgsm, pgd

    nonnegative("eps", eps)
    if eps == 0:
        return X.detach().clone()
    if attack == "fgsm":
        return fgsm(machine, X, y, eps)
    return pgd(machine, X, y, eps, steps=steps, step_size=step_size or eps / 4, random_start=False)


class CenteredNet(torch.nn.Module):
    """``x -> net(x) - f_0(x)`` with ``f_0`` a frozen copy of the network at initialisation."""

    def __init__(self, net: torch.nn.Module, init: torch.nn.Module):
        super().__init__()
        self.net, self.init = net, init
        for p in self.init.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        return self.net(x) - self.init(x)


def train_lazy_net(X, y, width: int, depth: int = 1, sigma_w: float = 2 ** 0.5, sigma_b: float = 0.1,
                   lr: float = 1.0, steps: int = 500, seed: int = 0, center: bool = True) -> torch.nn.Module:
    """An NTK-parameterised MLP on ``X``'s device and dtype, trained by full-batch GD on MSE (see module docstring);
    initialised from a CPU generator (the same network on every device)."""
    import copy

    integer("width", width, low=1)
    positive("lr", lr)
    gen = torch.Generator().manual_seed(int(seed))
    net = NTKMLP(X.shape[1], [width] * depth, sigma_w=sigma_w, sigma_b=sigma_b, generator=gen, dtype=X.dtype,
                 device=X.device)
    init = copy.deepcopy(net)
    model = CenteredNet(net, init) if center else net
    target = y.to(X.dtype)
    train_mse(model, X, target, lr=lr, steps=steps)
    return model


def transfer_sweep(data, widths, eps: float, depth: int = 1, sigma_w: float = 2 ** 0.5, sigma_b: float = 0.1,
                   ridge: float = 1e-8, lr: float = 1.0, steps: int = 500, attack_steps: int = 10, seed: int = 0,
                   center: bool = True, match_time: bool = True) -> dict:
    r"""Kernel attack, then for each width: clean accuracy, white-box PGD accuracy, accuracy on the kernel's
    adversarial examples (transfer), and transfer success = fraction of the test points the kernel attack fools that
    also fool the network (among points both classify correctly when clean); plus the agreement of the net's and the
    kernel's clean predictions, and the relative distance ``||f_net - f_kernel|| / ||f_kernel||`` on the test set.
    With ``match_time`` the kernel predictor is the gradient-flow one at ``tau = lr * steps`` (the exact
    infinite-width limit of the centred trained net), else the ridge(less) one. ``data`` is a binary :class:`deep.data.Dataset` (float64, labels +-1).
    """
    from deep.attacks import pgd

    X, y, Xt, yt = data.X_train, data.y_train, data.X_test, data.y_test
    km = KernelMachine(X, y, kernel="ntk", ridge=ridge, relative_ridge=True, flow_time=lr * steps if match_time else None,
                       kernel_options=dict(depth=depth, sigma_w=sigma_w, sigma_b=sigma_b))
    x_adv = kernel_attack(km, Xt, yt, eps, steps=attack_steps)
    k_clean = torch.sign(km(Xt)) == yt
    k_fooled = torch.sign(km(x_adv)) != yt
    out = {"kernel_clean": predictions_accuracy(km(Xt), yt), "kernel_robust": predictions_accuracy(km(x_adv), yt),
           "widths": [int(w) for w in widths], "net_clean": [], "net_whitebox": [], "net_transfer": [],
           "transfer_success": [], "agreement": [], "function_distance": []}
    with torch.no_grad():
        k_out = km(Xt)
    for w in widths:
        net = train_lazy_net(X, y, int(w), depth, sigma_w, sigma_b, lr, steps, seed, center)
        with torch.no_grad():
            clean_out = net(Xt)
            adv_out = net(x_adv)
        wb = pgd(net, Xt, yt, eps, steps=attack_steps, step_size=eps / 4, random_start=False)
        with torch.no_grad():
            wb_acc = predictions_accuracy(net(wb), yt)
        both = k_clean & (torch.sign(clean_out) == yt) & k_fooled
        success = float((torch.sign(adv_out[both]) != yt[both]).double().mean()) if bool(both.any()) else float("nan")
        out["net_clean"].append(predictions_accuracy(clean_out, yt))
        out["net_whitebox"].append(wb_acc)
        out["net_transfer"].append(predictions_accuracy(adv_out, yt))
        out["transfer_success"].append(success)
        out["agreement"].append(float((torch.sign(clean_out) == torch.sign(k_out)).double().mean()))
        out["function_distance"].append(float((clean_out - k_out).norm() / k_out.norm()))
    return out
