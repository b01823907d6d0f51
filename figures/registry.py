"""The figure registry: one module per reproduced figure, listed once here.

A figure module defines

* ``NAME``      (str)  the registry key, e.g. ``"errors_vs_alpha"``;
* ``TITLE``     (str)  one line saying what the figure shows and which paper it reproduces;
* ``PRESETS``   (dict) ``{"quick": {...}, "paper": {...}}`` parameter dicts (quick: 2-core CPU, minutes);
* ``REQUIRES``  (tuple of import names, optional) e.g. ``("torch",)``;
* ``compute(params: dict, progress: bool) -> dict``  JSON-serialisable data (numpy arrays allowed);
* ``plot(data: dict, params: dict) -> matplotlib.figure.Figure``.

``make`` runs compute, writes ``NAME.png``, ``NAME.json`` (the data) and ``NAME.params.json`` into the output
folder and returns their paths. Adding a figure is one module and one line in ``FIGURE_MODULES``.
"""
from __future__ import annotations

import importlib
import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from asymptotics.errors import InvalidParameter

from . import io

FIGURE_MODULES = (
    "figures.errors_vs_alpha",
    "figures.reg_order_optimal_lambda",
    "figures.reg_order_fixed_lambda",
    "figures.order_parameter_scaling",
    "figures.tradeoff",
    "figures.winning_reg_map",
    "figures.optimal_regularization_map",
    "figures.convergence_map",
    "figures.rademacher_vs_dimension",
    "figures.price_gap_vs_m",
    "figures.price_benefit_map",
    "figures.icl_phases",
    "figures.icl_attention",
    "figures.icl_stumbling_block",
    "figures.grokking_accuracy",
    "figures.grokking_neuron_norms",
    "figures.grokking_sparsity",
    "figures.theory_vs_simulation",
    "figures.mahalanobis_geometry",
    "figures.margins_oracle_b",
    "figures.margin_gap_random",
    "figures.robust_steepest_descent",
    "figures.margins_steepest_descent",
    "figures.flavors_test_accuracy",
    "figures.robust_erm_nets",
    "figures.neural_collapse_attack",
    "figures.bnn_attacks",
    "figures.ntk_kernel_attacks",
    "figures.ntk_features",
    "figures.ntk_dynamics",
    "figures.ntk_spectral_bias",
    "figures.kip_distillation",
    "figures.neural_collapse_layers",
    "figures.bnn_semantic_shift",
    "figures.ntk_eigenfeature_images",
)

PRESET_NAMES = ("quick", "paper")


@dataclass(frozen=True)
class FigureOutput:
    name: str
    png: Path
    data: Path
    params: Path
    seconds: float

    def to_dict(self) -> dict:
        return {"name": self.name, "png": str(self.png), "data": str(self.data), "params": str(self.params),
                "seconds": self.seconds}


def _load(module_name: str) -> ModuleType:
    return importlib.import_module(module_name)


def available() -> dict[str, str]:
    """Map figure name -> module name, for every registered figure (imports nothing heavy)."""
    return {m.rsplit(".", 1)[1]: m for m in FIGURE_MODULES}


def get(name: str) -> ModuleType:
    table = available()
    if name not in table:
        raise InvalidParameter("name", f"unknown figure {name!r}; available: {', '.join(sorted(table))}")
    return _load(table[name])


def missing_requirements(module: ModuleType) -> list[str]:
    return [req for req in getattr(module, "REQUIRES", ()) if importlib.util.find_spec(req) is None]


def describe() -> list[dict]:
    rows = []
    for name, modname in available().items():
        mod = _load(modname)
        rows.append({"name": name, "title": mod.TITLE, "presets": sorted(mod.PRESETS),
                     "requires": list(getattr(mod, "REQUIRES", ())), "missing": missing_requirements(mod)})
    return rows


def make(name: str, preset: str = "quick", outdir: str | Path = "out/figures", overrides: dict | None = None,
         progress: bool = False) -> FigureOutput:
    """Compute and plot one figure; write PNG + data + parameters into ``outdir``."""
    mod = get(name)
    if preset not in mod.PRESETS:
        raise InvalidParameter("preset", f"figure {name!r} has presets {sorted(mod.PRESETS)}, got {preset!r}")
    missing = missing_requirements(mod)
    if missing:
        raise InvalidParameter("name", f"figure {name!r} needs {', '.join(missing)} (pip install 'robustbias[deep]')")
    params = dict(mod.PRESETS[preset])
    for key, value in (overrides or {}).items():
        if key not in params:
            raise InvalidParameter("overrides", f"figure {name!r} has no parameter {key!r}; it has {sorted(params)}")
        params[key] = value
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data = mod.compute(params, progress=progress)
    fig = mod.plot(data, params)
    seconds = time.perf_counter() - start
    png = outdir / f"{name}.png"
    io.save_figure(fig, png)
    data_path = io.write_json(outdir / f"{name}.json", data)
    params_path = io.write_json(outdir / f"{name}.params.json",
                                {"figure": name, "preset": preset, "params": params, "seconds": seconds,
                                 "version": io.package_version()})
    return FigureOutput(name, png, data_path, params_path, seconds)
