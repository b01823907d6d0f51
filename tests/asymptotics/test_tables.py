"""SweepResult and GridResult as pandas frames and xarray datasets: the tables hold the result's own numbers
(compared value by value with ``column``/``grid``/the records, exactly: no arithmetic happens on the way)."""
import math

import numpy as np
import pytest

import asymptotics
from asymptotics import FixedPoint, SweepResult

pd = pytest.importorskip("pandas")
xr = pytest.importorskip("xarray")

FIELDS = ("m", "q", "V", "P", "m_hat", "q_hat", "V_hat", "P_hat", "gen_error", "adv_error", "boundary_error",
          "train_error", "train_loss", "residual", "iterations")


@pytest.fixture(scope="module")
def swept():
    return asymptotics.sweep("lam", [1.0, 0.1, 0.3], alpha=1.0, eps=0.2, attack="linf", reg="l2")


@pytest.fixture(scope="module")
def with_failure(swept):
    """The same sweep with its middle point marked failed (as a point that did not converge is recorded)."""
    results = [swept.results[0], None, swept.results[2]]
    return SweepResult("lam", swept.values, results, [(0.1, "ConvergenceError: no fixed point")])


@pytest.fixture(scope="module")
def grid():
    return asymptotics.grid_sweep({"alpha": [2.0, 0.5], "eps": [0.0, 0.1, 0.2]}, lam=0.1)


def test_sweep_frame_columns_equal_the_result_columns(swept):
    frame = swept.to_frame()
    assert list(frame["lam"]) == list(swept.values)
    for name in FIELDS:
        assert np.array_equal(frame[name].to_numpy(dtype=float), swept.column(name)), name


def test_sweep_frame_marks_a_failed_point_with_nan_and_its_error(with_failure):
    frame = with_failure.to_frame()
    assert math.isnan(frame.loc[1, "adv_error"]) and frame.loc[1, "failed"] is True
    assert frame.loc[1, "error"] == "ConvergenceError: no fixed point"
    assert frame.loc[0, "adv_error"] == with_failure.results[0].adv_error


def test_sweep_xarray_is_indexed_by_the_swept_values(swept):
    ds = swept.to_xarray()
    assert ds["adv_error"].dims == ("lam",)
    assert np.array_equal(ds["lam"].values, swept.values)
    for name in FIELDS:
        assert np.array_equal(ds[name].values, swept.column(name)), name
    for value, fp in zip(swept.values, swept.results):
        assert ds["gen_error"].sel(lam=value).item() == fp.gen_error
    assert ds.attrs["param"] == "lam" and ds["ok"].values.tolist() == [True, True, True]


def test_sweep_xarray_failed_point_is_nan_and_not_ok(with_failure):
    ds = with_failure.to_xarray()
    assert ds["ok"].values.tolist() == [True, False, True]
    assert np.isnan(ds["m"].values[1]) and ds["m"].values[0] == with_failure.results[0].m
    assert ds["iterations"].dtype == np.float64          # an int column with a missing value holds NaN


def test_grid_frame_rows_equal_the_records(grid):
    frame = grid.to_frame()
    assert len(frame) == 6
    for (_, row), rec in zip(frame.iterrows(), grid.records):
        assert (row["alpha"], row["eps"]) == (rec["params"]["alpha"], rec["params"]["eps"])
        for name in FIELDS:
            assert row[name] == rec["result"][name], name


def test_grid_xarray_has_one_dimension_per_axis_and_the_grid_values(grid):
    ds = grid.to_xarray()
    assert ds["adv_error"].dims == ("alpha", "eps") and ds["adv_error"].shape == (2, 3)
    for name in FIELDS:
        assert np.array_equal(ds[name].values, grid.grid(name)), name
    for rec in grid.records:        # selection by coordinate finds the record of those parameters
        sel = ds.sel(alpha=rec["params"]["alpha"], eps=rec["params"]["eps"])
        assert sel["adv_error"].item() == rec["result"]["adv_error"]
        assert sel["q"].item() == rec["result"]["q"]


def test_one_json_shape_for_a_sweep_with_records_and_cached(swept):
    d = swept.to_dict()
    assert set(d) == {"param", "values", "records", "failures", "cached"}
    assert [r["adv_error"] for r in d["records"]] == swept.column("adv_error").tolist()
    assert swept.summary().startswith("3 points: 3 solved (0 from cache)")


def test_missing_pandas_is_an_import_error_naming_the_extra(swept, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"robustbias\[tables\]"):
        swept.to_frame()
    monkeypatch.setitem(sys.modules, "xarray", None)
    with pytest.raises(ImportError, match=r"robustbias\[tables\]"):
        swept.to_xarray()
