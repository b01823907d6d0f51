"""The price of implicit bias (issue 5 §2): exact robust accuracy, eps*(S), and the seeded GD-vs-CD gap run."""
import numpy as np
import pytest

from asymptotics import max_margin
from simulate import streams
from simulate.implicit_bias import SETTINGS, _inputs, _teacher, price_of_implicit_bias, robust_accuracy


def test_robust_accuracy_equals_the_explicit_worst_case_attack():
    rng = np.random.default_rng(0)
    X, w = rng.normal(size=(500, 20)), rng.normal(size=20)
    y = np.sign(X @ rng.normal(size=20))
    eps = 0.05
    attacked = X - eps * y[:, None] * np.sign(w)[None, :]          # the linf worst case for a linear model
    assert robust_accuracy(w, X, y, eps) == pytest.approx(float(np.mean(y * (attacked @ w) > 0)))
    for _ in range(20):                                               # no feasible perturbation does worse
        delta = eps * rng.uniform(-1, 1, size=X.shape)
        assert np.all(y * ((X + delta) @ w) >= y * (attacked @ w) - 1e-12)


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_every_data_setting_trains_to_robust_separation(setting):
    res = price_of_implicit_bias(setting, d=64, m_values=(16,), eps_fractions=(0.0, 0.5), seeds=1, steps=4000,
                                 n_test=500, k_w=8, k_x=8)
    cell = res.cells[0]
    t_kind, x_kind = SETTINGS[setting]
    w_star = _teacher(t_kind, 64, 8, streams.generator(0, "teacher", streams.DEFAULT_BASE))
    X, y = _inputs(x_kind, w_star, 16, 8, streams.generator(16, "train", streams.DEFAULT_BASE))
    assert cell["eps_star"] == pytest.approx(max_margin(X, y, norm="l1").margin, rel=1e-9)   # eps* = l1 max margin
    for run in cell["runs"]:
        assert run["robust_train_acc"] == 1.0, run          # eps < eps*: the robust loss can be driven to 0
        assert -1.0 <= run["gap"] <= 1.0


@pytest.mark.slow
def test_gd_gap_exceeds_cd_gap_under_attack_but_not_without():
    # issue 5 §4: d = 256, sparse teacher (k_w = 16), dense Gaussian data, m = 64, eps = 0.5 eps*(S), 3 seeds
    res = price_of_implicit_bias("sparse_teacher_dense_data", d=256, m_values=(64,), eps_fractions=(0.0, 0.5),
                                 algorithms=("gd", "cd"), seeds=3, steps=20_000, n_test=20_000)
    gaps = {k: np.array([r["gap"] for c in res.cells for r in c["runs"]
                         if (r["algorithm"], r["eps_fraction"]) == k]) for k in
            [("gd", 0.0), ("cd", 0.0), ("gd", 0.5), ("cd", 0.5)]}
    diff0 = gaps[("gd", 0.0)] - gaps[("cd", 0.0)]
    diff5 = gaps[("gd", 0.5)] - gaps[("cd", 0.5)]
    noise = diff0.std(ddof=1) / np.sqrt(3) + diff5.std(ddof=1) / np.sqrt(3)
    assert abs(diff0.mean()) < max(0.04, 3 * noise)          # eps = 0: within noise
    assert diff5.mean() > 0.05 and diff5.mean() > 3 * diff5.std(ddof=1) / np.sqrt(3)   # eps > 0: GD clearly worse
