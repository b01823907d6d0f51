"""grid_sweep checks everything before work: grid size (before allocating), every point, options, fixed parameters;
a warm start refused by solve's own validation is retried cold instead of aborting the chain."""
import numpy as np
import pytest

import asymptotics.grid as grid
from asymptotics import grid_sweep
from asymptotics.errors import InvalidParameter

FIXED = dict(eps=0.1, lam=0.1)


class Huge:
    """A sequence that reports a length but must never be iterated (the size check comes first)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        raise AssertionError("the grid was materialised before its size was checked")


def test_a_grid_over_the_limit_is_refused_before_anything_is_allocated():
    with pytest.raises(InvalidParameter, match=r"the grid has 4000000 points, more than the limit 1000000") as info:
        grid_sweep({"alpha": Huge(2000), "lam": Huge(2000)}, eps=0.1)
    assert info.value.parameter == "axes"


@pytest.mark.parametrize("axes,kwargs,name,needle", [
    ({"alpha": [1.0, 2.0]}, dict(FIXED, foo=1), "foo", "is not a parameter of a point"),
    ({"alpha": [1.0, 2.0]}, dict(FIXED, solver_options={"tol": -1.0}), "tol", "> 0"),
    ({"alpha": [1.0, 2.0]}, dict(FIXED, solver_options={"max_iter": 0}), "max_iter", ">= 1"),
    ({"alpha": [1.0, 2.0]}, dict(FIXED, solver_options={"blend": 2.0}), "blend", "<= 1"),
    ({"alpha": [1.0, 2.0]}, dict(FIXED, jobs=0), "jobs", ">= 1"),
    ({"alpha": [1.0, 2.0]}, dict(FIXED, executor="threads"), "executor", "must be one of"),
    ({"alpha": [1.0, "x"]}, FIXED, "alpha", "must be a real number"),
    ({"alpha": [1.0, np.nan]}, FIXED, "alpha", "NaN"),
    ({"alpha": 3.0}, FIXED, "alpha", "must be a sequence"),
    ({"r": [2.0, 0.5]}, dict(FIXED, alpha=1.0), "r", ">= 1.0"),
    # the bad combination is the last point only: an l1 test attack needs an l1 training attack when eps_test > 0
    ({"alpha": [1.0, 2.0], "eps_test": [0.0, 0.1]}, dict(FIXED, attack="linf", attack_test="l1"), "attack_test",
     "an l1 test attack"),
])
def test_bad_axis_option_or_point_is_refused_before_any_solve(monkeypatch, axes, kwargs, name, needle):
    monkeypatch.setattr(grid, "solve", _no_solve)
    with pytest.raises(InvalidParameter, match=needle) as info:
        grid_sweep(axes, continuation=None, **kwargs)
    assert info.value.parameter == name


def _no_solve(**kwargs):
    raise AssertionError("a point was solved before the grid was validated")


def test_a_warm_start_refused_by_solve_is_retried_cold(monkeypatch):
    real = grid.solve
    calls = []

    def picky(init=None, **kwargs):
        calls.append(init is not None)
        if init is not None:
            raise InvalidParameter("init", "m^2 must be < rho q")        # e.g. a rounding-edge warm start
        return real(**kwargs)

    monkeypatch.setattr(grid, "solve", picky)
    res = grid_sweep({"alpha": [1.0, 2.0]}, executor="serial", **FIXED)
    assert not res.failures and calls == [False, True, False]      # alpha=2 cold, alpha=1 warm (refused), then cold
    cold = grid_sweep({"alpha": [1.0, 2.0]}, continuation=None, executor="serial", **FIXED)
    np.testing.assert_array_equal(res.column("q"), cold.column("q"))
