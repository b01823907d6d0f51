"""Reproduced paper figures: a registry of figure modules with ``quick`` and ``paper`` presets.

``figures.make("errors_vs_alpha", preset="quick", outdir="out")`` writes PNG + data + parameters
(``format="png,pdf,svg"`` for more image formats); ``figures.replot(name, "out")`` draws it again from its data.
Nothing in the package imports ``figures``; it imports asymptotics, simulate and deep.
"""
from .registry import FIGURE_MODULES, FigureOutput, available, describe, draw, get, make, replot

__all__ = ["FIGURE_MODULES", "FigureOutput", "available", "describe", "draw", "get", "make", "replot"]
