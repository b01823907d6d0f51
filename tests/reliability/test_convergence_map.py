"""A coarse version of the issue-10 convergence map: >= 99% of the grid solves (converges or is recognised as the
collapsed w = 0 solution); the rest raise ConvergenceError with diagnostics (recorded by the sweep)."""
import pytest

from asymptotics import grid_sweep


@pytest.mark.slow
def test_coarse_convergence_map_solves_at_least_99_percent():
    axes = dict(alpha=[0.01, 1.0, 100.0], eps=[0.0, 0.5, 1.0], lam=[1e-4, 1e-2, 10.0], r=[1.0, 1.5, 2.0, 3.0, 4.0])
    records = []
    for attack in ("l1.5", "l2", "linf"):
        records += grid_sweep(axes, continuation="alpha", attack=attack, jobs=2).records
    solved = sum(r["ok"] for r in records)
    assert solved >= 0.99 * len(records), [r for r in records if not r["ok"]]
    for r in records:
        if not r["ok"]:
            assert r["error"].startswith("ConvergenceError") and "residual" in r["error"]
        else:
            assert r["result"]["converged"] and 0.0 <= r["result"]["adv_error"] <= 1.0
