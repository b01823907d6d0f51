"""Property-based checks (hypothesis) of the public API and the CLI: invalid input always raises a ValueError
subclass naming the parameter (CLI: one line, exit 2, no traceback); valid input never yields NaN or inf silently."""
import contextlib
import io
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from asymptotics import Attack, ConvergenceError, DataModel, InvalidParameter, Regularizer, solve
from robustbias.cli import main

VALID = dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2", loss="logistic")
bad_positive = st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf), st.just(-math.inf))
bad_nonnegative = st.one_of(st.floats(max_value=-1e-300, allow_infinity=True), st.just(math.nan))
wrong_type = st.one_of(st.text(max_size=3), st.none(), st.lists(st.floats(), max_size=2), st.booleans())
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def named_parameter(point):
    """The parameter named by the InvalidParameter that solve(**point) raises (None if it does not raise)."""
    try:
        solve(**point)
    except InvalidParameter as exc:
        assert isinstance(exc, ValueError)
        return exc.parameter
    return None


@FAST
@given(value=st.one_of(bad_positive, wrong_type))
def test_bad_alpha(value):
    assert named_parameter(dict(VALID, alpha=value)) == "alpha"


@FAST
@given(key=st.sampled_from(["eps", "lam", "eps_test"]), value=st.one_of(bad_nonnegative, wrong_type))
def test_bad_nonnegative_parameters(key, value):
    if key == "eps_test" and value is None:
        return  # None means "as in training"
    assert named_parameter(dict(VALID, **{key: value})) == key


@FAST
@given(p=st.floats(min_value=-10, max_value=0.999))
def test_attack_exponent_below_one(p):
    assert named_parameter(dict(VALID, attack=f"l{p}")) == "attack"
    with pytest.raises(InvalidParameter) as info:
        Attack.lp(p)
    assert info.value.parameter == "p"


@FAST
@given(r=st.floats(min_value=0.0, max_value=0.999))
def test_regularizer_exponent_below_one(r):
    assert named_parameter(dict(VALID, reg=f"l{r}")) == "reg"


@FAST
@given(eigs=st.lists(st.floats(min_value=-5, max_value=5), min_size=2, max_size=5))
def test_covariances_must_be_positive_definite(eigs):
    eigs = np.array(eigs)
    scale = max(1.0, np.abs(eigs).max())
    # the validator's threshold is 1e-12 * scale: leave out the band between it and this test's "clearly PD" line
    assume(not np.any((eigs > 1e-13 * scale) & (eigs <= 1e-6 * scale)))
    if np.all(eigs > 1e-6 * scale):
        assert Attack.mahalanobis(eigs).covariance.shape == eigs.shape
        return
    for make, name in ((Attack.mahalanobis, "Sigma_delta"), (Regularizer.mahalanobis, "Sigma_w"),
                       (lambda e: DataModel(cov_x=e), "Sigma_x")):
        with pytest.raises(InvalidParameter) as info:
            make(eigs)
        assert info.value.parameter == name


@FAST
@given(rows=st.integers(1, 4), cols=st.integers(1, 4))
def test_covariance_shape(rows, cols):
    matrix = np.eye(rows, cols) + 0.1
    if rows == cols:
        return
    with pytest.raises(InvalidParameter, match="square"):
        Attack.mahalanobis(matrix)


@FAST
@given(args=st.sampled_from([
    ["solve", "--alpha", "0", "--eps", "0.1", "--lam", "0.1"],
    ["solve", "--alpha", "nan", "--eps", "0.1", "--lam", "0.1"],
    ["solve", "--alpha", "1", "--eps", "-0.1", "--lam", "0.1"],
    ["solve", "--alpha", "1", "--eps", "0.1", "--lam", "0.1", "--attack", "l0.2"],
    ["solve", "--alpha", "1", "--eps", "0.1", "--lam", "0.1", "--reg", "l0.5"],
    ["solve", "--alpha", "x", "--eps", "0.1", "--lam", "0.1"],
    ["grid", "--axis", "alpha=1:2:0", "--eps", "0.1", "--lam", "0.1"],
    ["grid", "--axis", "beta=1,2", "--eps", "0.1", "--lam", "0.1"],
    ["sweep", "eps", "0,0.1", "--alpha", "1"],
]))
def test_cli_bad_input_is_one_line_and_exit_2(args):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(args)
        except SystemExit as exc:     # argparse type errors
            code = exc.code
    text = err.getvalue()
    assert code == 2 and text.count("\n") == 1 and "Traceback" not in text


@settings(max_examples=25, deadline=None)
@given(alpha=st.floats(0.05, 20), eps=st.floats(0, 0.8), lam=st.floats(1e-3, 1.0), r=st.floats(1.0, 4.0),
       attack=st.sampled_from(["linf", "l2", "l1.5", "l3", "l1"]), loss=st.sampled_from(["logistic", "hinge"]))
def test_valid_points_never_return_nan_silently(alpha, eps, lam, r, attack, loss):
    try:
        fp = solve(alpha, eps, lam, attack=attack, reg=f"l{r}", loss=loss)
    except ConvergenceError:
        return
    values = [v for k, v in fp.to_dict().items() if isinstance(v, float) and not k.endswith("_hat")]
    assert all(math.isfinite(v) for v in values)
    assert 0.0 <= fp.gen_error <= 1.0 and 0.0 <= fp.adv_error <= 1.0 and fp.adv_error >= fp.gen_error - 1e-12
