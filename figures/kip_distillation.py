"""Robustness from data alone? (Tsilivis, Su & Kempe 2022; spec deep_robustness_ntk.md §2.4-2.5).

Protocol (spec §2.4): 10-class digits (pixels /16), a support set of 10 images per class distilled by KIP and by
adversarial (robust) KIP (inner linf PGD-10, eps = 0.1, Adam on the support inputs, 500+ outer steps), against a
random real subset of the same size and the full training pool. Each set is deployed in (a) NTK kernel regression
(one-hot targets, outputs used as logits) and (b) an NTK-parameterised MLP trained on it by full-batch GD on MSE
(centred, lazy regime). Each model is audited (:mod:`deep.ntk.audit`) on the test set, clean and under: PGD-10 (the
attack robust KIP was optimised against), strong PGD (PGD-100 from the clean point + random restarts, best per sample),
APGD-CE and APGD-DLR style, a Square-style random search (>= 1000 queries, gradient-free), and a transfer attack
(strong PGD made on the same kind of model trained on the full pool). The worst case over the suite and the
gradient-masking alarm (spec §2.5: black-box attacks break points every white-box attack left standing) are reported.

Why "PGD strong" used to equal PGD-10 in every cell: the old figure was binary (3 vs 8) with a one-hidden-layer NTK,
whose predictor is nearly linear inside the eps-ball; PGD-10 at step eps/4 already reaches the linf worst case
(the box corner ``x + eps sign(w)``) and more steps or restarts cannot flip one more point. In 10 classes the
predictor is not linear at that scale and the attacks separate (their losses are in the data).
"""
from __future__ import annotations

import numpy as np

from . import style

NAME = "kip_distillation"
TITLE = "KIP vs robust KIP on 10-class digits: PGD advantage vs stronger, black-box and transfer attacks"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(n_train=1437, n_test=150, per_class=10, kip_steps=500, lr=0.01, batch_size=160, eps=0.1,
                  train_attack_steps=10, ridge=1e-6, depth=1, width=512, net_lr=1.0, net_steps=400,
                  strong_steps=100, restarts=2, apgd_steps=50, queries=1000, masking_tolerance=0.01,
                  device=None, seed=0),
    "paper": dict(n_train=1437, n_test=360, per_class=10, kip_steps=1000, lr=0.01, batch_size=300, eps=0.1,
                  train_attack_steps=10, ridge=1e-6, depth=2, width=2048, net_lr=1.0, net_steps=2000,
                  strong_steps=100, restarts=5, apgd_steps=100, queries=5000, masking_tolerance=0.01,
                  device=None, seed=0),
}

SETS = ("random", "kip", "robust_kip", "full")
WHITE = ("pgd10", "pgd_strong", "apgd_ce", "apgd_dlr")
BLACK = ("square", "transfer")
ATTACKS = ("clean", *WHITE, *BLACK)
LABELS = {"random": "random subset", "kip": "KIP", "robust_kip": "robust KIP", "full": "full data",
          "clean": "clean", "pgd10": "PGD-10", "pgd_strong": "PGD-100+restarts", "apgd_ce": "APGD-CE",
          "apgd_dlr": "APGD-DLR", "square": "Square", "transfer": "transfer", "worst": "worst case"}


def _balanced(y, per_class: int, generator):
    """``per_class`` indices of every class, drawn on the CPU."""
    import torch

    yc = y.cpu()
    idx = []
    for c in range(10):
        pool = torch.nonzero(yc == c).flatten()
        idx.append(pool[torch.randperm(pool.numel(), generator=generator)[:per_class]])
    return torch.cat(idx)


def _train_net(X, Y, params, seed):
    """Centred NTK-parameterised MLP (10 outputs) trained by full-batch GD on the halved MSE to one-hot targets."""
    import copy

    import torch

    from deep.ntk import NTKMLP, train_mse
    from deep.ntk.transfer import CenteredNet

    gen = torch.Generator().manual_seed(int(seed))             # CPU draws, then moved (device discipline)
    net = NTKMLP(X.shape[1], [params["width"]] * params["depth"], out_features=10, generator=gen,
                 dtype=X.dtype, device=X.device)
    model = CenteredNet(net, copy.deepcopy(net))
    train_mse(model, X, Y, lr=params["net_lr"], steps=params["net_steps"])
    return model


def _suite(params, source, attack_gen):
    """The attacks of ``ATTACKS`` as ``callable(model, x, y)``; ``source`` = the full-data model (transfer)."""
    from deep.attacks import apgd, pgd, random_search
    from deep.ntk.audit import strong_pgd

    eps = params["eps"]
    strong = dict(steps=params["strong_steps"], restarts=params["restarts"], generator=attack_gen)
    made = {}

    def transfer(m, x, y):
        # the source's adversarial test points do not depend on the target model: make them once per suite
        if made.get("inputs") is not x:
            made["inputs"], made["adv"] = x, strong_pgd(source, x, y, eps, **strong)
        return made["adv"]

    ap = dict(steps=params["apgd_steps"], generator=attack_gen)
    return {
        "pgd10": lambda m, x, y: pgd(m, x, y, eps, steps=10, step_size=eps / 4, random_start=False),
        "pgd_strong": lambda m, x, y: strong_pgd(m, x, y, eps, **strong),
        "apgd_ce": lambda m, x, y: apgd(m, x, y, eps, loss="ce", **ap),
        "apgd_dlr": lambda m, x, y: apgd(m, x, y, eps, loss="dlr", **ap),
        "square": lambda m, x, y: random_search(m, x, y, eps, queries=params["queries"], generator=attack_gen),
        "transfer": transfer,
    }


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.data import digits_multiclass
    from deep.device import default_device
    from deep.ntk import KernelMachine, adversarial_kip_loss, distill, kernel_function, kip_loss
    from deep.ntk.audit import audit, masking_alarm
    from deep.ntk.kernel_utils import one_hot

    dev = default_device(params["device"])
    seed = int(params["seed"])
    cpu_gen = torch.Generator().manual_seed(seed)               # support choice and KIP target batches
    attack_gen = torch.Generator().manual_seed(seed + 1)         # CPU draws, moved to the data's device
    d = digits_multiclass(n_train=params["n_train"], n_test=params["n_test"], seed=seed, device=dev,
                          dtype=torch.float64)
    X, y, Xt, yt = d.X_train, d.y_train, d.X_test, d.y_test
    Y = one_hot(y, 10).to(X)
    kern = kernel_function("ntk", depth=params["depth"])
    init = _balanced(y, params["per_class"], cpu_gen).to(dev)
    sets = {"random": (X[init], Y[init]), "full": (X, Y)}
    traces = {}
    for name, eps in (("kip", 0.0), ("robust_kip", params["eps"])):
        res = distill(X[init], Y[init], X, Y, steps=params["kip_steps"], lr=params["lr"],
                      batch_size=params["batch_size"], eps=eps, attack_steps=params["train_attack_steps"],
                      kernel=kern, ridge=params["ridge"], generator=cpu_gen)
        sets[name] = (res.X, res.Y)
        traces[name] = res.loss

    # KIP objective on the whole pool, clean and under the inner PGD (+ the eps = 0 identity)
    objective = {}
    for name in ("random", "kip", "robust_kip"):
        Xs, Ys = sets[name]
        n = X.shape[0]
        objective[name] = {
            "clean": float(kip_loss(Xs, Ys, X, Y, kern, params["ridge"])) / n,
            "robust": float(adversarial_kip_loss(Xs, Ys, X, Y, params["eps"], kern, params["ridge"],
                                                 params["train_attack_steps"])) / n,
            "robust_eps0": float(adversarial_kip_loss(Xs, Ys, X, Y, 0.0, kern, params["ridge"])) / n}

    models = {"krr": {n: KernelMachine(Xs, Ys, kernel=kern, ridge=params["ridge"], relative_ridge=True)
                      for n, (Xs, Ys) in sets.items()},
              "net": {n: _train_net(Xs, Ys, params, seed) for n, (Xs, Ys) in sets.items()}}
    results, losses, masking, alarm = {}, {}, {}, {}
    for kind, ms in models.items():
        attacks = _suite(params, ms["full"], attack_gen)
        results[kind], losses[kind], masking[kind], alarm[kind] = {}, {}, {}, {}
        for n in SETS:
            a = audit(ms[n], Xt, yt, attacks, white=WHITE, black=BLACK)
            results[kind][n] = {**{k: a.accuracy(k) for k in ATTACKS}, "worst": a.worst_case()}
            losses[kind][n] = {k: a.loss[k] for k in ATTACKS}
            # the alarm questions the headline number (PGD-10, spec §2.5); "all_white" is AutoAttack's stricter view
            masking[kind][n] = {**a.masking(("pgd10",)), "all_white": a.masking()["any"]}
            alarm[kind][n] = masking_alarm(a, params["masking_tolerance"], white=("pgd10",))
    show = torch.cat([torch.nonzero(Y[init].argmax(1) == c).flatten()[:1] for c in range(10)]).to(dev)
    images = {n: sets[n][0][show].cpu().numpy() for n in ("random", "kip", "robust_kip")}
    return {"sets": list(SETS), "attacks": list(ATTACKS) + ["worst"], "results": results, "losses": losses,
            "masking": masking, "alarm": alarm, "objective": objective, "loss_trace": traces, "images": images,
            "support_size": int(init.numel()), "pool_size": int(X.shape[0]), "n_test": int(Xt.shape[0])}


# ---------------------------------------------------------------------------------------------------- claims
def _adv(data, kind, attack):
    r = data["results"][kind]
    return r["robust_kip"][attack] - r["kip"][attack]


def _pgd_advantage(data, params):
    v = _adv(data, "krr", "pgd10")
    return v, v > 0.05


def _advantage_shrinks(data, params):
    pgd, worst = _adv(data, "krr", "pgd10"), _adv(data, "krr", "worst")
    return worst - pgd, worst < pgd - 0.02


def _strong_not_weaker(data, params):
    gaps = []
    for kind in ("krr", "net"):
        r, lo = data["results"][kind]["full"], data["losses"][kind]["full"]
        gaps.append(min(r["pgd10"] - r["pgd_strong"], lo["pgd_strong"] - lo["pgd10"]))
    return min(gaps), min(gaps) >= 0


def _masking_excess(data, kind="krr"):
    """Fraction of test points Square/transfer break but PGD-10 misses, on robust KIP minus on the full-data model
    (the control): masking *specific to* the distilled data, net of how weak PGD-10 is on every model."""
    m = data["masking"][kind]
    return m["robust_kip"]["any"] - m["full"]["any"]


def _alarm_robust_kip(data, params):
    v = _masking_excess(data)
    return v, v > params["masking_tolerance"]


def _robust_kip_above_random_worst(data, params):
    v = data["results"]["krr"]["robust_kip"]["worst"] - data["results"]["krr"]["random"]["worst"]
    return v, v > 0.05


from .claims import Claim  # noqa: E402

CLAIMS = (
    Claim("robust_kip_pgd_advantage",
          "Robust KIP data give kernel regression much higher PGD accuracy than KIP data (abstract: 'very high "
          "robustness against PGD'); value = PGD-10 accuracy gap, holds if > 0.05.", _pgd_advantage),
    Claim("advantage_shrinks_under_alternative_attacks",
          "The PGD robustness is 'somewhat fallacious, as alternative attacks manage to fool the models' (abstract); "
          "value = robust KIP's advantage over KIP under the worst case of all attacks minus under PGD-10 "
          "(holds if < -0.02).", _advantage_shrinks, expected=(),
          evidence="quick (150 test points, 500 KIP steps, PGD-100x2, APGD-CE/DLR-50, Square-1000, transfer): the "
                   "advantage grows from +0.15 (PGD-10: 0.87 vs 0.72) to +0.21 (worst case: 0.81 vs 0.61); robust "
                   "KIP's worst case 0.81 is above the full-data model's 0.76"),
    Claim("strong_pgd_not_weaker_on_full_data",
          "Sanity of the attacks: on the full-data model (KRR and MLP) strong PGD never has higher accuracy or lower "
          "loss than PGD-10; value = smallest margin over both (>= 0).", _strong_not_weaker),
    Claim("masking_alarm_specific_to_robust_kip",
          "The paper's finding read as gradient masking (spec §2.5): Square/transfer break robust-KIP kernel "
          "regression on more of the points PGD-10 missed than on the full-data control; value = that excess "
          "fraction, holds if > the alarm tolerance.", _alarm_robust_kip, expected=(),
          evidence="quick: the spec §2.5 alarm fires on every model, controls included (Square breaks 5-16 % of the "
                   "points PGD-10 misses: PGD-10 on the cross-entropy is weak on these regression logits), but less "
                   "on robust KIP (0.05) than on the full-data KRR (0.09): excess -0.04, no masking specific to "
                   "robust KIP; against the whole white-box suite (APGD-DLR included) black-box attacks add <= 0.03"),
    Claim("robust_kip_beats_random_in_worst_case",
          "Some robustness is real: robust KIP's worst-case accuracy exceeds a random real subset's by > 0.05.",
          _robust_kip_above_random_worst),
)


# ------------------------------------------------------------------------------------------------------ plot
def _mosaic(images: dict) -> np.ndarray:
    rows = []
    for name in ("random", "kip", "robust_kip"):
        imgs = np.asarray(images[name]).reshape(-1, 8, 8)
        rows.append(np.concatenate([np.pad(im, 1, constant_values=0.0) for im in imgs], axis=1))
    return np.concatenate(rows, axis=0)


def _verdict(data, params) -> str:
    pgd, worst = _adv(data, "krr", "pgd10"), _adv(data, "krr", "worst")
    tol = params["masking_tolerance"]
    alarms = sum(bool(v) for kind in data["alarm"].values() for v in kind.values())
    head = (f"KRR: robust KIP's advantage over KIP is {pgd:+.2f} under PGD-10 and {worst:+.2f} under the worst attack "
            f"(fallacy {'shown' if worst < pgd - 0.02 else 'NOT reproduced'} at this scale)\n")
    if _masking_excess(data) > tol:
        return head + "gradient-masking alarm specific to robust KIP: its PGD robustness is not credible"
    return (head + f"masking alarm fires on {alarms}/8 models incl. the full-data controls (PGD-10 is weak), "
            f"robust-KIP excess over control {_masking_excess(data):+.2f}: no masking specific to robust KIP")


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 4, width=3.6, height=3.0)
    sets, attacks = data["sets"], data["attacks"]
    cols = style.palette(len(sets))
    xs = np.arange(len(attacks))
    bw = 0.8 / len(sets)
    for k, kind in enumerate(("krr", "net")):
        ax = axes[0, k]
        for j, s in enumerate(sets):
            vals = [data["results"][kind][s][a] for a in attacks]
            ax.bar(xs + (j - (len(sets) - 1) / 2) * bw, vals, bw, color=cols[j], label=LABELS[s])
        ax.set_xticks(xs)
        ax.set_xticklabels([LABELS[a] for a in attacks], rotation=35, ha="right", fontsize=7)
        ax.set_ylim(0, 1.45)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        name = "NTK kernel regression" if kind == "krr" else f"lazy MLP (width {params['width']})"
        ax.set(ylabel="test accuracy", title=name + f", $\\epsilon$={params['eps']:g}")
        ax.legend(fontsize=6, loc="upper center", ncol=2, frameon=False)
    ax = axes[0, 2]
    labels = [f"{LABELS[s]}\n{kind}" for kind in ("krr", "net") for s in sets]
    vals = [data["masking"][kind][s]["any"] for kind in ("krr", "net") for s in sets]
    suite = [data["masking"][kind][s]["all_white"] for kind in ("krr", "net") for s in sets]
    pos = np.arange(len(vals))
    ax.bar(pos - 0.2, vals, 0.4, color=[cols[i % len(sets)] for i in range(len(vals))], label="missed by PGD-10")
    ax.bar(pos + 0.2, suite, 0.4, color="0.6", label="missed by all white-box")
    ax.axhline(params["masking_tolerance"], color="k", ls="--", lw=1, label="alarm threshold")
    ax.set_xticks(np.arange(len(vals)))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=6)
    ax.set(ylabel="fraction of test points",
           title="broken by Square/transfer but\nmissed by white-box (masking alarm)")
    ax.legend(fontsize=6)
    ax = axes[0, 3]
    ax.imshow(_mosaic(data["images"]), cmap="gray_r", vmin=0, vmax=1)
    ax.set_yticks([4.5, 14.5, 24.5])
    ax.set_yticklabels(["random", "KIP", "robust\nKIP"], fontsize=7)
    ax.set_xticks([])
    ax.grid(False)
    ax.set_title("support images (one per class)")
    fig.suptitle(f"{data['support_size']} distilled images, {params['kip_steps']} KIP steps. {_verdict(data, params)}",
                 fontsize=8)
    return fig
