"""Reproduced paper figures: a registry of figure modules with ``quick`` and ``paper`` presets.

``figures.make("errors_vs_alpha", preset="quick", outdir="out")`` writes PNG + data + parameters.
Nothing in the package imports ``figures``; it imports asymptotics, simulate and deep.
"""
from .registry import FIGURE_MODULES, available, describe, get, make

__all__ = ["FIGURE_MODULES", "available", "describe", "get", "make"]
