"""The figure machinery: style over the whole figure, no backend switch at import, image formats, file modes,
re-plotting from stored data, and the legend-overlap detector itself (fast; a stand-in figure module)."""
import importlib
import json
import os
import sys
import types

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import figures
from asymptotics.cache import atomic_write_bytes
from asymptotics.errors import InvalidParameter
from figures import io, layout, registry, style
from robustbias.cli import main

NAME = "stand_in_figure"
SEEN = {}


def _compute(params, progress=False):
    return {"x": np.linspace(0.0, 1.0, 20), "y": np.linspace(0.0, 1.0, 20) ** 2}


def _plot(data, params):
    SEEN["linewidth_at_plot"] = plt.rcParams["lines.linewidth"]
    fig, axes = style.subplots(1, 1)
    (line,) = axes[0, 0].plot(data["x"], data["y"], label="y = x^2")
    legend = style.legend_outside(axes[0, 0])
    SEEN["line"], SEEN["legend_size"] = line.get_linewidth(), legend.get_texts()[0].get_fontsize()
    return fig


@pytest.fixture
def stand_in(monkeypatch):
    """A registered figure module that draws one line and a legend, as a real figure module would."""
    mod = types.ModuleType(f"figures.{NAME}")
    mod.NAME, mod.TITLE = NAME, "a stand-in for the tests"
    mod.PRESETS = {"quick": {"n": 1}, "paper": {"n": 2}}
    mod.compute, mod.plot = _compute, _plot
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setattr(registry, "FIGURE_MODULES", (*registry.FIGURE_MODULES, mod.__name__))
    SEEN.clear()
    return mod


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_importing_the_figures_package_keeps_the_users_backend():
    before = matplotlib.get_backend()
    try:
        matplotlib.use("svg")
        importlib.reload(style)
        importlib.reload(io)
        assert matplotlib.get_backend().lower() == "svg"
    finally:
        matplotlib.use(before)


def test_make_draws_every_artist_in_the_package_style_with_constrained_layout(stand_in, tmp_path):
    with plt.rc_context({"lines.linewidth": 5.0, "legend.fontsize": 20.0}):    # a user's own defaults
        figures.make(NAME, outdir=tmp_path)
        assert plt.rcParams["lines.linewidth"] == 5.0                           # and restored afterwards
    assert SEEN["linewidth_at_plot"] == SEEN["line"] == style.RC["lines.linewidth"]
    assert SEEN["legend_size"] == style.RC["legend.fontsize"]
    with style.figure_style():
        fig = figures.draw(NAME, _compute({}), {})
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    plt.close(fig)


def test_make_writes_every_requested_format_readable_by_others_and_lists_every_file(stand_in, tmp_path, umask_022):
    out = figures.make(NAME, outdir=tmp_path, format="png,pdf,svg")
    assert [p.name for p in out.images] == [f"{NAME}.png", f"{NAME}.pdf", f"{NAME}.svg"]
    assert out.png == tmp_path / f"{NAME}.png"
    assert out.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / f"{NAME}.pdf").read_bytes()[:5] == b"%PDF-"
    assert b"<svg" in (tmp_path / f"{NAME}.svg").read_bytes()[:2000]
    assert out.to_dict()["files"] == [str(p) for p in (*out.images, out.data, out.params)]
    # mode 0o666 & ~umask like any file the user creates, not mkstemp's 0600 (images and JSON alike)
    assert {oct(p.stat().st_mode & 0o777) for p in out.files} == {oct(0o644)}
    assert json.loads(out.params.read_text())["figure"] == NAME


def test_without_png_the_png_attribute_is_none(stand_in, tmp_path):
    out = figures.make(NAME, outdir=tmp_path, format=["svg"])
    assert out.png is None and [p.suffix for p in out.files] == [".svg", ".json", ".json"]


def test_atomic_writes_respect_a_stricter_umask(tmp_path):
    old = os.umask(0o077)
    try:
        private = atomic_write_bytes(tmp_path / "private.json", b"{}")
    finally:
        os.umask(old)
    assert oct(private.stat().st_mode & 0o777) == oct(0o600)


@pytest.mark.parametrize("bad", ["jpg", "", "png,", "png;pdf", 3, ["png", 1]])
def test_a_bad_format_is_refused_naming_format_before_any_work(stand_in, tmp_path, bad):
    with pytest.raises(InvalidParameter, match=r"^format: .*png, pdf, svg|^format: must be"):
        figures.make(NAME, outdir=tmp_path / "out", format=bad)
    assert not (tmp_path / "out").exists()


def test_cli_writes_the_formats_and_prints_every_path(stand_in, tmp_path, capsys, umask_022):
    assert main(["figures", "make", NAME, "--format", "png,pdf", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for suffix in (".png", ".pdf", ".json", ".params.json"):
        assert str(tmp_path / f"{NAME}{suffix}") in printed


def test_cli_refuses_a_bad_format_in_one_line_with_status_2(stand_in, tmp_path, capsys):
    assert main(["figures", "make", NAME, "--format", "png,jpg", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("robustbias: error: --format:") and err.count("\n") == 1


def test_replot_draws_again_from_the_stored_data_without_computing(stand_in, tmp_path, monkeypatch):
    made = figures.make(NAME, outdir=tmp_path)
    monkeypatch.setattr(stand_in, "compute", None)                 # replot must not compute
    out = figures.replot(NAME, tmp_path, outdir=tmp_path / "again", format="svg")
    assert out.images == (tmp_path / "again" / f"{NAME}.svg",) and out.data == made.data
    with pytest.raises(InvalidParameter, match="source"):
        figures.replot(NAME, tmp_path / "nothing here")


def _line_and_legend(where):
    fig, axes = style.subplots(1, 1)
    ax = axes[0, 0]
    x = np.linspace(0.0, 1.0, 200)
    ax.plot(x, 0.9 - 0.0 * x, label="flat line near the top")
    ax.scatter([0.1], [0.95], label="one point")
    ax.set_ylim(0.0, 1.0)
    if where == "inside":
        ax.legend(loc="upper left")
    else:
        style.legend_outside(ax)
    return fig


def test_the_overlap_check_finds_a_legend_covering_data_and_passes_one_outside():
    inside, outside = _line_and_legend("inside"), _line_and_legend("outside")
    try:
        found = layout.legend_overlaps(inside)
        assert {o.artist for o in found} == {"flat line near the top", "one point"}
        assert all(o.points > 0 for o in found) and "covers" in str(found[0])
        assert layout.legend_overlaps(outside) == []
    finally:
        plt.close(inside)
        plt.close(outside)


def test_the_overlap_check_sees_a_line_segment_between_two_distant_points():
    fig, axes = style.subplots(1, 1)
    ax = axes[0, 0]
    ax.plot([0.0, 1.0], [0.5, 0.5], label="two points, a segment across the middle")
    ax.set_ylim(0, 1)
    ax.legend(loc="center")
    try:
        assert [o.artist for o in layout.legend_overlaps(fig)] == ["two points, a segment across the middle"]
    finally:
        plt.close(fig)


def test_seed_band_draws_the_mean_and_a_min_max_or_std_band():
    fig, axes = style.subplots(1, 1)
    ax = axes[0, 0]
    curves = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, np.nan]])
    line = style.seed_band(ax, [0, 1, 2], curves, band="minmax")
    np.testing.assert_allclose(line.get_ydata(), [1.0, 2.0, 2.0])          # nanmean: the NaN seed is ignored
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == 0.0 and band[:, 1].max() == 3.0
    line = style.seed_band(ax, [0, 1, 2], curves, band="std")
    band = ax.collections[1].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx(3.0)                          # mean 2 + std 1 at the middle point
    with pytest.raises(ValueError, match="band"):
        style.seed_band(ax, [0, 1, 2], curves, band="iqr")
    plt.close(fig)


def test_tight_layout_calls_leave_the_constrained_layout_even_with_a_colorbar():
    fig, axes = style.subplots(1, 2)
    image = axes[0, 0].imshow(np.eye(3))
    fig.colorbar(image, ax=axes[0, 0])
    fig.tight_layout()                    # plain matplotlib raises here (engine switch after a colorbar)
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    plt.close(fig)
