"""Shared plot style for every figure (one place, so all figures look alike in a paper).

The style is a set of matplotlib rc parameters, :data:`RC`, applied to the whole life of a figure by
:func:`figure_style` (drawing *and* saving: line widths, legend and tick sizes are read when artists are created,
some parameters when the file is written). ``figures.make`` and ``figures.replot`` wrap both steps in it; call
``with figure_style(): fig = module.plot(data, params); fig.savefig(...)`` to do the same by hand.

Every figure uses constrained layout (``figure.constrained_layout.use``), and its legends sit outside the data:
beside the panel (:func:`legend_outside`) or in a figure legend placed ``"outside ..."``; ``tests/figures`` checks
that no legend box covers a plotted point (:func:`figures.layout.legend_overlaps`).

Importing this module does not choose a matplotlib backend: the user's (or matplotlib's automatic choice, Agg on a
machine without a display) is kept. The ``robustbias`` command line selects Agg when no backend is configured.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

RC = {
    "figure.dpi": 110,
    "figure.constrained_layout.use": True,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "lines.linewidth": 1.4,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "savefig.dpi": 150,
    "pdf.fonttype": 42,          # TrueType in PDF/PS: text stays editable and searchable
    "ps.fonttype": 42,
    "svg.fonttype": "none",      # text as text in SVG
}

#: caption wording for seed bands, so every figure says the same thing
BAND_MINMAX = "mean, band: min-max over seeds"
BAND_STD = "mean, band: +/- 1 std over seeds"


@contextmanager
def figure_style():
    """Context manager applying :data:`RC` to everything drawn and saved inside it (``plt.rc_context``)."""
    with plt.rc_context(RC):
        yield


class StyledFigure(Figure):
    """A matplotlib ``Figure`` that keeps its constrained layout: ``tight_layout()`` is a no-op on it.

    (On a constrained figure matplotlib's ``tight_layout`` would switch the layout engine, and raise once a colorbar
    exists; figure code written for the tight layout keeps working unchanged.)
    """

    def tight_layout(self, *args, **kwargs):
        if isinstance(self.get_layout_engine(), ConstrainedLayoutEngine):
            return None
        return super().tight_layout(*args, **kwargs)


def subplots(nrows=1, ncols=1, width=3.4, height=2.6, **kw):
    """Figure with panels of ``width`` x ``height`` inches each, in the package style, with constrained layout.

    Inside :func:`figure_style` the whole figure gets the style; outside it only the figure and its axes do.
    The figure is a :class:`StyledFigure` (``tight_layout`` calls leave the constrained layout in place).
    """
    kw.setdefault("layout", "constrained")
    kw.setdefault("FigureClass", StyledFigure)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
    return fig, axes


def legend_outside(ax, *args, **kw):
    """A legend to the right of ``ax``, top-aligned, outside the data (constrained layout makes room for it).

    Arguments are those of ``Axes.legend`` (handles, labels, ``ncol``, ``fontsize``, ``title``...).
    """
    kw.setdefault("loc", "upper left")
    kw.setdefault("bbox_to_anchor", (1.02, 1.0))
    kw.setdefault("borderaxespad", 0.0)
    return ax.legend(*args, **kw)


def legend_below(ax, *args, below: float = 34.0, **kw):
    """A legend centred under ``ax``, ``below`` points under the bottom of the axes (clear of the tick labels and a
    one-line x label), outside the data; for panels whose right side is taken (a twin axis) or many entries."""
    from matplotlib.transforms import offset_copy

    kw.setdefault("loc", "upper center")
    kw.setdefault("bbox_to_anchor", (0.5, 0.0))
    kw.setdefault("bbox_transform", offset_copy(ax.transAxes, fig=ax.figure, y=-below, units="points"))
    kw.setdefault("borderaxespad", 0.0)
    return ax.legend(*args, **kw)


def seed_band(ax, x, curves, *, color=None, band="minmax", label=None, alpha=0.2, **line_kw):
    """Plot the mean over seeds of ``curves`` (seeds x points) as a line and a shaded band around it.

    ``band="minmax"`` shades min to max over seeds, ``band="std"`` the mean +/- one standard deviation; say which in
    the legend or title (:data:`BAND_MINMAX`, :data:`BAND_STD`). NaN entries (a seed that did not reach a point)
    are ignored. Returns the mean line.
    """
    if band not in ("minmax", "std"):
        raise ValueError(f"band must be 'minmax' or 'std', got {band!r}")
    curves = np.atleast_2d(np.asarray(curves, dtype=float))
    x = np.asarray(x, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # an all-NaN column: NaN mean, drawn as a gap
        mean = np.nanmean(curves, axis=0)
        if band == "minmax":
            low, high = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
        else:
            sd = np.nanstd(curves, axis=0)
            low, high = mean - sd, mean + sd
    (line,) = ax.plot(x, mean, color=color, label=label, **line_kw)
    if curves.shape[0] > 1:
        ax.fill_between(x, low, high, color=line.get_color(), alpha=alpha, lw=0)
    return line


def palette(n: int):
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in ([0.5] if n == 1 else [0.05 + 0.85 * i / (n - 1) for i in range(n)])]
