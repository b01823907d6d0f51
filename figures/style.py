"""Shared plot style for every figure (one place, so all figures look alike in a paper)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RC = {
    "figure.dpi": 110,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "lines.linewidth": 1.4,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def subplots(nrows=1, ncols=1, width=3.4, height=2.6, **kw):
    """Figure with panels of ``width`` x ``height`` inches each, in the package style."""
    with plt.rc_context(RC):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
    return fig, axes


def palette(n: int):
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in ([0.5] if n == 1 else [0.05 + 0.85 * i / (n - 1) for i in range(n)])]
