"""The figure registry: one module per reproduced figure, listed once here.

A figure module defines

* ``NAME``      (str)  the registry key, e.g. ``"errors_vs_alpha"``;
* ``TITLE``     (str)  one line saying what the figure shows and which paper it reproduces;
* ``PRESETS``   (dict) ``{"quick": {...}, "paper": {...}}`` parameter dicts (quick: 2-core CPU, minutes);
* ``REQUIRES``  (tuple of import names, optional) e.g. ``("torch",)``;
* ``compute(params: dict, progress: bool) -> dict``  JSON-serialisable data (numpy arrays allowed);
* ``plot(data: dict, params: dict) -> matplotlib.figure.Figure``.

``make`` runs compute, writes the image (``NAME.png``; ``format="png,pdf,svg"`` for more), ``NAME.json`` (the data)
and ``NAME.params.json`` into the output folder and returns their paths; ``replot`` draws a figure again from
those two JSON files without recomputing. Both draw and save inside :func:`figures.style.figure_style`. Adding a
figure is one module and one line in ``FIGURE_MODULES``.
"""
from __future__ import annotations

import importlib
import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from asymptotics.errors import InvalidParameter

from . import io, style

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
    "figures.icl_minimal_model",
    "figures.icl_variance",
    "figures.icl_ngrams",
    "figures.grokking_accuracy",
    "figures.grokking_neuron_norms",
    "figures.grokking_sparsity",
    "figures.grokking_multi_seed",
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
    """The files ``make`` (or ``replot``) wrote: ``images`` (one per format), the data and the parameters.

    ``png`` is the PNG image when one was written (else ``None``); ``files`` lists every file written.
    """

    name: str
    png: Path | None
    data: Path
    params: Path
    seconds: float
    images: tuple = ()

    @property
    def files(self) -> tuple:
        return (*self.images, self.data, self.params)

    def to_dict(self) -> dict:
        return {"name": self.name, "png": None if self.png is None else str(self.png),
                "images": [str(p) for p in self.images], "data": str(self.data), "params": str(self.params),
                "files": [str(p) for p in self.files], "seconds": self.seconds}


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


def _params(mod, name: str, preset: str, overrides: dict | None) -> dict:
    if preset not in mod.PRESETS:
        raise InvalidParameter("preset", f"figure {name!r} has presets {sorted(mod.PRESETS)}, got {preset!r}")
    params = dict(mod.PRESETS[preset])
    for key, value in (overrides or {}).items():
        if key not in params:
            raise InvalidParameter("overrides", f"figure {name!r} has no parameter {key!r}; it has {sorted(params)}")
        params[key] = value
    return params


def draw(name: str, data: dict, params: dict):
    """The figure ``name`` drawn from its ``data`` and ``params`` in the package style (the caller saves and closes
    it, inside :func:`figures.style.figure_style` for the saved file to carry the style too)."""
    mod = get(name)
    with style.figure_style():
        return mod.plot(data, params)


def make(name: str, preset: str = "quick", outdir: str | Path = "out/figures", overrides: dict | None = None,
         progress: bool = False, format="png") -> FigureOutput:
    """Compute and plot one figure; write its image(s) + data + parameters into ``outdir``.

    Parameters
    ----------
    name : a registered figure (``figures.available()``)
    preset : ``"quick"`` or ``"paper"``
    outdir : output folder (created)
    overrides : preset parameters to change, ``{name: value}``
    progress : show progress bars
    format : ``"png"`` (default), ``"pdf"``, ``"svg"``, a comma-separated string of them (``"png,pdf"``) or a list;
        one image ``NAME.<format>`` per format

    Raises
    ------
    InvalidParameter : unknown ``name``, ``preset``, override or ``format``, or a missing optional package
    """
    mod = get(name)
    params = _params(mod, name, preset, overrides)
    formats = io.parse_formats(format)
    missing = missing_requirements(mod)
    if missing:
        raise InvalidParameter("name", f"figure {name!r} needs {', '.join(missing)} (pip install 'robustbias[deep]')")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data = mod.compute(params, progress=progress)
    with style.figure_style():
        fig = mod.plot(data, params)
        seconds = time.perf_counter() - start
        images = io.save_figures(fig, outdir / name, formats)
    data_path = io.write_json(outdir / f"{name}.json", data)
    params_path = io.write_json(outdir / f"{name}.params.json",
                                {"figure": name, "preset": preset, "params": params, "seconds": seconds,
                                 "version": io.package_version()})
    return _output(name, images, data_path, params_path, seconds)


def replot(name: str, source: str | Path, outdir: str | Path | None = None, format="png") -> FigureOutput:
    """Draw figure ``name`` again from ``NAME.json`` and ``NAME.params.json`` in ``source`` (no recomputation);
    write the image(s) into ``outdir`` (default ``source``).

    Raises
    ------
    InvalidParameter("source") : the data or parameter file is missing or not JSON
    """
    import json

    get(name)
    formats = io.parse_formats(format)
    source = Path(source)
    outdir = source if outdir is None else Path(outdir)
    data_path, params_path = source / f"{name}.json", source / f"{name}.params.json"
    try:
        data = json.loads(data_path.read_text())
        params = json.loads(params_path.read_text())["params"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidParameter("source", f"no readable data of figure {name!r} in {str(source)!r} ({exc})") from None
    start = time.perf_counter()
    with style.figure_style():
        fig = get(name).plot(data, params)
        images = io.save_figures(fig, outdir / name, formats)
    return _output(name, images, data_path, params_path, time.perf_counter() - start)


def _output(name, images, data_path, params_path, seconds) -> FigureOutput:
    png = next((p for p in images if p.suffix == ".png"), None)
    return FigureOutput(name, png, data_path, params_path, seconds, tuple(images))
