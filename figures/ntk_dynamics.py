"""Kernel dynamics during standard vs adversarial training (Tsilivis & Kempe 2022, claim (c); spec §1.2, §1.4 item 3).

A standard-parameterised (PyTorch-default uniform init, bias-free) ReLU MLP 64-w-w-10 (:class:`deep.models.HomogeneousMLP`)
is trained on 10-class digits with plain SGD (lr 0.05, cross-entropy) cleanly, with FGSM-AT and with PGD-AT (linf
eps = 0.1); after every epoch the empirical NTK of a fixed clean probe set is computed with all output axes kept
((n_probe C) x (n_probe C), :func:`deep.ntk.track_ntk`). Panels: kernel distance to the initial kernel
D(K_t, K_0) = 1 - S(K_t, K_0) and to the final kernel D(K_t, K_T), polar dynamics (r_t cos phi_t, r_t sin phi_t) in the
full space and in the top-k spectral truncation, top-k eigen-mass m_k, kernel-target alignment, training accuracy.
The "settling epoch" is the first epoch after which D(K_t, K_T) stays below 10 % of D(K_0, K_T); the claim to test
is that adversarial training settles (reaches the lazy regime) earlier. Paper preset: GPU, 100 epochs, 100 probes.
"""
from __future__ import annotations

import numpy as np

from . import style

NAME = "ntk_dynamics"
TITLE = "Empirical NTK during clean vs FGSM vs PGD adversarial training of a standard MLP (digits)"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(n_train=600, n_probe=30, width=128, depth=2, epochs=40, lr=0.05, batch_size=32, eps=0.1,
                  attack_steps=5, methods=["clean", "fgsm", "pgd"], top_k=10, settle=0.1, device="cpu", seed=0),
    "paper": dict(n_train=1437, n_probe=100, width=256, depth=2, epochs=100, lr=0.05, batch_size=128, eps=0.1,
                  attack_steps=10, methods=["clean", "fgsm", "pgd"], top_k=20, settle=0.1, device=None, seed=0),
}

COLOURS = {"clean": "tab:blue", "fgsm": "tab:orange", "pgd": "tab:red"}


def settling_epoch(epochs, dist_final, fraction: float) -> int:
    """First recorded epoch after which ``D(K_t, K_T) <= fraction * D(K_0, K_T)`` for good."""
    d = np.asarray(dist_final, dtype=float)
    above = np.nonzero(d > fraction * d[0])[0]
    last = int(above[-1]) + 1 if above.size else 0
    return int(epochs[min(last, len(epochs) - 1)])


def _spectrum(K, k: int):
    """Eigen-mass ``m_k`` and the top-``k`` truncation of one kernel from a single (torch, float64) ``eigh``;
    same definitions as :func:`deep.ntk.eigen_mass` and :func:`deep.ntk.spectral_truncation`."""
    import torch

    lam, V = torch.linalg.eigh((K + K.T) / 2)
    lam, V = lam.flip(0), V.flip(1)
    lam2 = lam ** 2
    return float(lam2[:k].sum() / lam2.sum()), ((V[:, :k] * lam[:k]) @ V[:, :k].T).numpy()


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.data import digits_multiclass
    from deep.device import default_device
    from deep.models import HomogeneousMLP
    from deep.ntk import kernel_distance, kernel_target_alignment, polar_dynamics, track_ntk
    from deep.ntk.kernel_utils import one_hot

    dev = default_device(params["device"])
    d = digits_multiclass(n_train=params["n_train"], n_test=50, seed=params["seed"], device=dev)
    Xp, yp = d.X_train[:params["n_probe"]], d.y_train[:params["n_probe"]]
    target = one_hot(yp.cpu(), 10)                       # (n, C); full kernel is (nC, nC) with index (i, c)
    target = target.reshape(-1, 1) * 1.0
    out = {}
    for method in params["methods"]:
        gen = torch.Generator(device=dev).manual_seed(int(params["seed"]))
        net = HomogeneousMLP(64, [params["width"]] * params["depth"], 10, generator=gen).to(dev)
        tr = track_ntk(net, d.X_train, d.y_train, Xp, params["epochs"], params["lr"], method, params["eps"],
                       params["attack_steps"], params["batch_size"], mode="full", generator=gen)
        Ks = [K.double().cpu() for K in tr["kernels"]]
        n = Ks[0].shape[0] * Ks[0].shape[2]
        Ks = [K.permute(0, 2, 1, 3).reshape(n, n) for K in Ks]              # (n, n, C, C) -> (nC, nC)
        k = params["top_k"]
        spectra = [_spectrum(K, k) for K in Ks]
        pol = polar_dynamics(Ks)
        top = polar_dynamics([t for _, t in spectra])
        dist_final = [kernel_distance(K, Ks[-1]) for K in Ks]
        out[method] = {"epochs": tr["epochs"], "train_acc": tr["train_acc"],
                       "dist_init": [kernel_distance(K, Ks[0]) for K in Ks], "dist_final": dist_final,
                       "radius": pol["radius"].tolist(), "angle": pol["angle"].tolist(),
                       "radius_top": top["radius"].tolist(), "angle_top": top["angle"].tolist(),
                       "mass": [mk for mk, _ in spectra],
                       "alignment": [kernel_target_alignment(K, target) for K in Ks],
                       "settling_epoch": settling_epoch(tr["epochs"], dist_final, params["settle"])}
    return out


def plot(data: dict, params: dict):
    fig, axes = style.subplots(2, 3, width=3.3, height=2.7)
    k = params["top_k"]
    for m, r in data.items():
        c = COLOURS.get(m, "k")
        lab = f"{m} (settles ep. {r['settling_epoch']})"
        ep = r["epochs"]
        axes[0, 0].plot(ep, r["dist_init"], "-", color=c, label=m)
        axes[0, 0].plot(ep, r["dist_final"], "--", color=c)
        for ax, rad, ang in ((axes[0, 1], r["radius"], r["angle"]), (axes[0, 2], r["radius_top"], r["angle_top"])):
            rad, ang = np.asarray(rad), np.asarray(ang)
            ax.plot(rad * np.cos(ang), rad * np.sin(ang), "-o", ms=2, color=c, lw=1, label=m)
        axes[1, 0].plot(ep, r["mass"], "-", color=c, label=m)
        axes[1, 1].plot(ep, r["alignment"], "-", color=c, label=m)
        axes[1, 2].plot(ep, r["train_acc"], "-", color=c, label=lab)
    axes[0, 0].set(xlabel="epoch", ylabel="kernel distance",
                   title=r"solid $D(K_t,K_0)$, dashed $D(K_t,K_T)$")
    axes[0, 1].set(xlabel=r"$r_t\cos\phi_t$", ylabel=r"$r_t\sin\phi_t$", title="polar dynamics, full space")
    axes[0, 2].set(xlabel=r"$r_t\cos\phi_t$", ylabel=r"$r_t\sin\phi_t$", title=f"polar dynamics, top-{k} space")
    axes[1, 0].set(xlabel="epoch", ylabel=f"$m_{{{k}}}$", title=f"top-{k} eigen-mass")
    axes[1, 1].set(xlabel="epoch", ylabel="alignment", title="kernel-target alignment")
    axes[1, 2].set(xlabel="epoch", ylabel="train accuracy (clean)", title="training accuracy")
    axes[0, 0].legend(fontsize=7)
    axes[1, 2].legend(fontsize=7, loc="lower right")
    settle = {m: r["settling_epoch"] for m, r in data.items()}
    earlier = all(settle[m] < settle.get("clean", -1) for m in settle if m != "clean") if "clean" in settle else False
    verdict = "AT settles earlier" if earlier else "no earlier settling of AT at this scale"
    fig.suptitle(f"eNTK of a standard MLP, width {params['width']}, SGD lr {params['lr']:g}, "
                 f"$\\epsilon$={params['eps']:g}: {verdict}", fontsize=9)
    fig.tight_layout()
    return fig
