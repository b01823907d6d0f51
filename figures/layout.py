"""Layout checks on a drawn figure: does a legend box cover plotted data?

:func:`legend_overlaps` draws the figure (constrained layout included) and, for every legend (axes legends and
figure legends), finds the plotted points that fall inside the legend's box in display coordinates: the vertices of
every visible ``Line2D`` (and points sampled every few pixels along its drawn segments), the offsets of scatter
collections, and the vertices of line collections (error bars), in every axes of the figure, insets and twin axes
included. Points clipped away by their axes are not drawn, so they do not count. Bands (``fill_between``), images
and contour sets are not data points here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: spacing, in pixels, of the points sampled along a drawn line segment
SEGMENT_STEP_PX = 3.0


@dataclass(frozen=True)
class LegendOverlap:
    """A legend box covering ``points`` plotted points of ``artist`` in ``axes``."""

    legend: str
    axes: str
    artist: str
    points: int

    def __str__(self) -> str:
        return f"legend of {self.legend} covers {self.points} point(s) of {self.artist!r} in {self.axes}"


def _all_axes(fig):
    out = []

    def walk(ax):
        out.append(ax)
        for child in getattr(ax, "child_axes", ()):
            walk(child)

    for ax in fig.axes:
        walk(ax)
    return out


def _name(ax, index) -> str:
    title = ax.get_title() or ax.get_title("left") or ax.get_ylabel()
    return f"axes {index}" + (f" ({title.splitlines()[0][:40]!r})" if title else "")


def _renderer(fig):
    fig.draw_without_rendering()
    get = getattr(fig.canvas, "get_renderer", None)
    return get() if get is not None else fig._get_renderer()


def _inside(points, box, pad=1.0):
    x, y = points[:, 0], points[:, 1]
    return (x > box.x0 + pad) & (x < box.x1 - pad) & (y > box.y0 + pad) & (y < box.y1 - pad)


def _visible_points(points, artist, ax):
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    points = points[np.isfinite(points).all(axis=1)]
    if artist.get_clip_on() and len(points):
        clip = artist.get_clip_box() or ax.bbox
        points = points[(points[:, 0] >= clip.x0 - 0.5) & (points[:, 0] <= clip.x1 + 0.5)
                        & (points[:, 1] >= clip.y0 - 0.5) & (points[:, 1] <= clip.y1 + 0.5)]
    return points


def _sampled(vertices):
    """The vertices of a polyline in display coordinates plus points every SEGMENT_STEP_PX along its segments."""
    if len(vertices) < 2:
        return vertices
    out = [vertices]
    for a, b in zip(vertices[:-1], vertices[1:]):
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            continue
        n = int(np.hypot(*(b - a)) // SEGMENT_STEP_PX)
        if n > 0:
            t = np.linspace(0.0, 1.0, n + 2)[1:-1, None]
            out.append(a + t * (b - a))
    return np.concatenate(out)


def _line_points(line):
    xy = np.asarray(line.get_xydata(), dtype=float).reshape(-1, 2)
    if not len(xy):
        return xy
    display = line.get_transform().transform(xy)
    drawn = line.get_linestyle() not in ("None", "none", " ", "") and line.get_linewidth() > 0
    return _sampled(display) if drawn else display


def plotted_points(ax):
    """``[(label, display points)]`` of the data drawn in ``ax`` (lines, scatter offsets, line collections)."""
    from matplotlib.collections import LineCollection, PathCollection

    out = []
    for line in ax.lines:
        if line.get_visible():
            out.append((line.get_label(), _visible_points(_line_points(line), line, ax)))
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, PathCollection):
            offsets = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
            pts = coll.get_offset_transform().transform(offsets) if len(offsets) else offsets
        elif isinstance(coll, LineCollection):
            segs = [np.asarray(s, dtype=float).reshape(-1, 2) for s in coll.get_segments()]
            segs = [coll.get_transform().transform(s) for s in segs if len(s)]
            pts = np.concatenate([_sampled(s) for s in segs]) if segs else np.zeros((0, 2))
        else:
            continue
        out.append((coll.get_label(), _visible_points(pts, coll, ax)))
    return out


def legend_overlaps(fig) -> list[LegendOverlap]:
    """Every (legend, axes, artist) where a legend box covers plotted points; empty when the legends are clear.

    Draws ``fig`` (without rendering pixels) so that constrained layout has placed everything.
    """
    renderer = _renderer(fig)
    axes = _all_axes(fig)
    names = {id(ax): _name(ax, i) for i, ax in enumerate(axes)}
    legends = [(names[id(ax)], ax.get_legend()) for ax in axes if ax.get_legend() is not None]
    legends += [("the figure", lg) for lg in fig.legends]
    points = {id(ax): plotted_points(ax) for ax in axes if ax.get_visible()}
    found = []
    for where, legend in legends:
        if not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        for ax in axes:
            for label, pts in points.get(id(ax), ()):
                n = int(_inside(pts, box).sum()) if len(pts) else 0
                if n:
                    found.append(LegendOverlap(where, names[id(ax)], str(label), n))
    return found
