"""Phase-transition time detection (deep.icl_markov.transitions) and the seed alignment of ``icl_variance``,
on synthetic curves whose answers are known in closed form."""
import numpy as np
import pytest

pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.icl_markov.transitions import crossing_step, strategy_transition_steps  # noqa: E402


def test_crossing_of_a_piecewise_linear_curve_is_exact():
    # y falls linearly from 1 at t = 100 to 0 at t = 300: y = c at t = 300 - 200 c, exactly, on any grid
    steps = np.arange(0, 401, 25)
    curve = np.interp(steps, [0, 100, 300, 400], [1.0, 1.0, 0.0, 0.0])
    for level in (0.9, 0.5, 0.37, 0.1):
        assert crossing_step(steps, curve, level) == pytest.approx(300 - 200 * level, abs=1e-9)


def test_crossing_without_interpolation_is_the_first_checkpoint_below():
    steps = np.arange(0, 401, 25)
    curve = np.interp(steps, [0, 100, 300, 400], [1.0, 1.0, 0.0, 0.0])
    assert crossing_step(steps, curve, 0.37, interpolate=False) == 250      # 226 lies between 225 and 250
    assert crossing_step(steps, curve, 1.5) == 0                            # already below at the first checkpoint
    assert crossing_step(steps, curve, -0.1) is None                        # never below


def test_logistic_midpoint_crossing_resolves_below_the_grid_spacing():
    # y = 1 / (1 + exp((t - t0) / w)) crosses 1/2 at t0; linear interpolation between grid points around the
    # inflection point errs by O(h^3 / w^2), here < 0.5 % of the spacing h = w
    w, t0 = 40.0, 517.3
    steps = np.arange(0, 1001, 40.0)
    curve = 1 / (1 + np.exp((steps - t0) / w))
    t = crossing_step(steps, curve, 0.5)
    assert abs(t - t0) < 0.005 * 40
    assert crossing_step(steps, curve, 0.5, interpolate=False) == 520       # the first grid point after t0


def test_sustain_skips_a_one_checkpoint_dip():
    steps = np.arange(8) * 10
    curve = np.array([1.0, 0.9, 0.4, 0.9, 0.8, 0.3, 0.2, 0.1])
    assert crossing_step(steps, curve, 0.5) == pytest.approx(10 + 10 * 0.4 / 0.5)       # the dip at t = 20
    assert crossing_step(steps, curve, 0.5, sustain=2) == pytest.approx(40 + 10 * 0.3 / 0.5)
    assert crossing_step(steps, curve, 0.5, sustain=4) is None


def test_nan_checkpoints_never_count_as_below():
    steps = np.arange(5) * 10
    curve = np.array([1.0, np.nan, 0.2, 0.1, 0.1])
    assert crossing_step(steps, curve, 0.5) == 20.0          # no line through a NaN: the checkpoint itself


def test_strategy_transitions_cross_the_mid_levels():
    # a curve that steps linearly through the four strategy levels of a trigram run
    levels = {"uniform": 0.24, "unigram": 0.14, "bigram": 0.10, "trigram": 0.02}
    knots_t = [0, 100, 200, 1000, 1200, 3000, 3400, 5000]
    knots_y = [0.24, 0.24, 0.14, 0.14, 0.10, 0.10, 0.02, 0.02]
    steps = np.arange(0, 5001, 50)
    curve = np.interp(steps, knots_t, knots_y)
    times = strategy_transition_steps(steps, curve, levels)
    assert list(times) == ["unigram", "bigram", "trigram"]
    assert times["unigram"] == pytest.approx(150.0)          # half-way down each linear segment
    assert times["bigram"] == pytest.approx(1100.0)
    assert times["trigram"] == pytest.approx(3200.0)
    stuck = np.interp(steps, knots_t[:6], knots_y[:6])       # a run that stays on the bigram plateau
    assert strategy_transition_steps(steps, stuck, levels)["trigram"] is None


@pytest.mark.parametrize("kwargs,name", [
    (dict(steps=[0, 1, 2], curve=[1.0, 0.5], level=0.7), "curve"),
    (dict(steps=[0, 2, 1], curve=[1.0, 0.5, 0.2], level=0.7), "steps"),
    (dict(steps=[0, 1, 2], curve=[1.0, 0.5, 0.2], level=0.7, sustain=0), "sustain"),
])
def test_crossing_step_rejects_bad_input(kwargs, name):
    with pytest.raises(InvalidParameter) as err:
        crossing_step(**kwargs)
    assert err.value.parameter == name


def test_strategy_levels_must_be_in_strategy_order():
    with pytest.raises(InvalidParameter):
        strategy_transition_steps([0, 1], [0.3, 0.1], {"unigram": 0.2, "uniform": 0.3})


def test_alignment_collapses_time_shifted_copies_of_one_curve():
    from figures.icl_variance import alignment

    steps = np.arange(0, 1001, 10.0)
    shifts = np.array([300.0, 420.0, 510.0, 650.0])
    curves = np.stack([0.05 + 0.12 / (1 + np.exp((steps - s) / 25)) for s in shifts])
    times = [crossing_step(steps, c, 0.05 + 0.06) for c in curves]       # the mid-level: exactly at each shift
    assert np.allclose(times, shifts, atol=0.5)
    out = alignment(steps, curves, times, half_window=150)
    assert out["aligned_spread"] < 1e-3                                  # one shape: the aligned curves coincide
    assert out["unaligned_spread"] > 0.02
    assert alignment(steps, curves, [None, 1.0, 2.0, 3.0], 150)["offsets"] == []
