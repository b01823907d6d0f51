"""ErmResult as pandas frames and an xarray dataset: per-seed values are the result's own, and the summary and the
seed-wise reductions give back ``mean``, ``std`` (ddof = 1) and ``sem``."""
import math

import numpy as np
import pytest

import simulate
from simulate import OBSERVABLES

pd = pytest.importorskip("pandas")
xr = pytest.importorskip("xarray")


@pytest.fixture(scope="module")
def result():
    return simulate.erm(alpha=0.5, eps=0.1, lam=0.1, attack="linf", reg="l2", d=100, seeds=[3, 1, 4], n_test=500)


def test_frame_has_one_row_per_seed_with_its_values(result):
    frame = result.to_frame()
    assert frame.index.name == "seed" and list(frame.index) == [3, 1, 4]
    for row, seed_values in zip(frame.itertuples(), result.per_seed):
        for name in OBSERVABLES + ("iterations", "certificate"):
            assert getattr(row, name) == seed_values[name], name


def test_summary_frame_is_mean_std_sem(result):
    frame = result.to_frame(summary=True)
    assert list(frame.index) == list(OBSERVABLES)
    for name in OBSERVABLES:
        assert frame.loc[name, "mean"] == result.mean[name]
        assert frame.loc[name, "std"] == result.std[name]
        assert frame.loc[name, "sem"] == result.sem(name) == result.std[name] / math.sqrt(3)


def test_xarray_reduces_over_seed_to_mean_and_std(result):
    ds = result.to_xarray()
    assert ds["adv_error"].dims == ("seed",) and ds["seed"].values.tolist() == [3, 1, 4]
    assert ds.attrs["d"] == 100 and ds.attrs["n"] == 50 and ds.attrs["n_test"] == 500
    for name in OBSERVABLES:
        # the same float64 numbers reduced in another order: equal to rounding (1e-12 relative)
        assert ds[name].mean("seed").item() == pytest.approx(result.mean[name], rel=1e-12, abs=1e-15), name
        assert ds[name].std("seed", ddof=1).item() == pytest.approx(result.std[name], rel=1e-12, abs=1e-15), name
        assert np.array_equal(ds[name].values, [s[name] for s in result.per_seed]), name


def test_repr_says_what_the_plus_minus_is(result):
    text = repr(result)
    assert "mean +- std over 3 seeds (ddof=1" in text and "errors are probabilities" in text
