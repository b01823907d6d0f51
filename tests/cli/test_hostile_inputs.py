"""Hostile input to the command line (hypothesis fuzz plus a table of paths): every case exits with status 2 and
exactly one line on stderr that names the option or file, before any work, and no traceback.

Categories: out-of-range, non-finite and non-numeric values of every numeric option; unknown names (attack,
regularizer, loss, solver, norm); malformed, oversized, repeated and out-of-range grid axes; paths at or under a
file, folders where files are expected, unknown image formats, unwritable locations; npz files made of random
bytes, truncated archives, bare .npy arrays, pickled objects, and arrays of the wrong shape, type or values.
Run in-process (``robustbias.cli.main``), so the whole file takes a few seconds.
"""
import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asymptotics import parse_attack, parse_loss, parse_regularizer
from asymptotics.margins import parse_norm
from robustbias.cli import main

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def expect_one_line_exit_2(capsys, args, needle):
    """Run the CLI; check exit 2, one stderr line naming ``needle``, nothing on stdout; return that line."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 2, (args, code, out[-300:], err)
    assert err.count("\n") == 1 and err.endswith("\n"), (args, err)
    assert err.startswith("robustbias: error: ") and "Traceback" not in err, (args, err)
    assert out == "", (args, out)
    assert needle in err, (args, needle, err)
    return err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    np.savez(root / "good.npz", X=rng.normal(size=(6, 3)), y=np.array([1, -1, 1, -1, 1, -1.0]))
    (root / "afile").write_text("not a folder")
    (root / "adir").mkdir()
    return root


# ------------------------------------------------------------------ values of numeric options ---------------------
def _not_a_float(text):
    try:
        float(text)
    except ValueError:
        return True
    return False


def _not_an_int(text):
    try:
        int(text)
    except ValueError:
        return True
    return False


junk_float = st.text(max_size=8).filter(_not_a_float)
non_finite = st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", "-1e999", "Infinity"])
bad_positive = st.one_of(non_finite, junk_float, st.floats(max_value=0.0, allow_nan=False).map(repr),
                         st.sampled_from(["0", "-0", "-1e-300"]))
bad_nonnegative = st.one_of(non_finite, junk_float,
                            st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False).map(repr))
bad_level = st.one_of(non_finite, junk_float, st.floats(min_value=1.0, allow_nan=False).map(repr),
                      st.floats(max_value=0.0, allow_nan=False).map(repr))


def bad_integer(low):
    return st.one_of(st.text(max_size=6).filter(_not_an_int), st.sampled_from(["1.5", "1e3", "nan", "0x10"]),
                     st.integers(max_value=low - 1).map(str))


SOLVE = ["solve", "--alpha", "1", "--eps", "0.1", "--lam", "0.1"]
SIMULATE = ["simulate", "--alpha", "0.5", "--eps", "0.1", "--lam", "0.1", "--d", "20", "--seeds", "2",
            "--n-test", "20"]
COMPARE = ["compare", "--alpha", "0.5", "--eps", "0.1", "--lam", "0.1", "--ds", "20,40", "--seeds", "2",
           "--n-test", "20"]
SWEEP = ["sweep", "alpha", "1,2", "--eps", "0.1", "--lam", "0.1"]
GRID = ["grid", "--axis", "alpha=1,2", "--eps", "0.1", "--lam", "0.1"]
BOUND = ["bound", "--data", "{good}"]
MARGIN = ["margin", "--data", "{good}"]

# (base command, option, strategy of bad values, the name the error must contain)
NUMERIC = [
    (SOLVE, "alpha", bad_positive, "alpha"), (SOLVE, "eps", bad_nonnegative, "eps"),
    (SOLVE, "lam", bad_nonnegative, "lam"), (SOLVE, "rho", bad_positive, "rho"),
    (SOLVE, "tau", bad_nonnegative, "tau"), (SOLVE, "eps-test", bad_nonnegative, "eps"),
    (SOLVE, "tol", bad_positive, "tol"),
    (SIMULATE, "alpha", bad_positive, "alpha"), (SIMULATE, "d", bad_integer(2), "d"),
    (SIMULATE, "seeds", bad_integer(1), "seeds"), (SIMULATE, "n-test", bad_integer(1), "n"),
    (SIMULATE, "sim-tol", bad_positive, "tol"), (SIMULATE, "jobs", bad_integer(1), "jobs"),
    (COMPARE, "level", bad_level, "level"), (COMPARE, "seeds", bad_integer(2), "seeds"),
    (COMPARE, "lam", bad_nonnegative, "lam"),
    (SWEEP, "jobs", bad_integer(1), "jobs"), (SWEEP, "tol", bad_positive, "tol"),
    (GRID, "lam", bad_nonnegative, "lam"), (GRID, "tau", bad_nonnegative, "tau"),
    (BOUND, "eps", bad_nonnegative, "eps"), (BOUND, "W", bad_positive, "W"),
    (BOUND, "draws", st.one_of(bad_integer(0), st.just("1")), "draws"),
    (MARGIN, "eps", bad_nonnegative, "eps"),
]


@FUZZ
@given(data=st.data())
def test_bad_numeric_option_is_one_line_exit_2(capsys, files, data):
    base, option, values, needle = data.draw(st.sampled_from(NUMERIC), label="target")
    value = data.draw(values, label="value")
    args = [a.format(good=files / "good.npz") for a in base] + [f"--{option}={value}"]
    assert expect_one_line_exit_2(capsys, args, needle)


def _invalid(parse):
    def check(text):
        try:
            parse(text)
        except ValueError:
            return True
        return False
    return check


def _bad_solver(text):
    return text not in ("auto", "lbfgs", "fista", "clarabel", "scs")


names = st.one_of(st.text(max_size=6), st.sampled_from(["l0.5", "l0", "l-1", "lnan", "linfinity", "L2 ", "hinge2",
                                                        "l1e999", "mahalanobis"]))
NAMES = [
    (SOLVE, "attack", _invalid(parse_attack), "attack"), (SOLVE, "attack-test", _invalid(parse_attack), "attack"),
    (SOLVE, "reg", _invalid(parse_regularizer), "reg"), (SOLVE, "loss", _invalid(parse_loss), "loss"),
    (SIMULATE, "solver", _bad_solver, "solver"), (MARGIN, "norm", _invalid(parse_norm), "norm"),
    (MARGIN, "attack", _invalid(parse_attack), "attack"),
]


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_unknown_name_is_one_line_exit_2(capsys, files, data):
    base, option, invalid, needle = data.draw(st.sampled_from(NAMES), label="target")
    value = data.draw(names.filter(invalid), label="value")
    args = [a.format(good=files / "good.npz") for a in base] + [f"--{option}={value}"]
    assert expect_one_line_exit_2(capsys, args, needle)


# ------------------------------------------------------------------ grid axes --------------------------------------
BAD_SPECS = ["", ",", "1,,2", "a", "1:2", "1:2:3:4", "1:2:0", "1:2:-3", "1:2:1.5", "1:2:x", "nan", "inf", "1,nan",
             "-inf,1", "-1,0.5", "-2:-1:3", "1:2:2000000", "1e999", "0.5,-0.5", ":", "::", "1::3", "1:nan:3",
             "0.1:inf:3"]
AXES = ["alpha", "eps", "lam", "r", "eps_test"]
bad_value_list = st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=0.1, max_value=5), max_size=3)\
    .flatmap(lambda good: st.sampled_from(["-1", "nan", "-inf", "inf", "-0.5", "1e999"]).map(
        lambda bad: ",".join([*map(repr, good), bad])))


@settings(FUZZ, max_examples=50)
@given(axis=st.sampled_from(AXES), spec=st.one_of(st.sampled_from(BAD_SPECS), bad_value_list))
def test_bad_grid_axis_is_one_line_exit_2(capsys, axis, spec):
    fixed = [f"--{k}=0.1" for k in ("alpha", "eps", "lam") if k != axis]
    assert expect_one_line_exit_2(capsys, ["grid", f"--axis={axis}={spec}", *fixed], axis)


@settings(FUZZ, max_examples=15)
@given(name=st.text(min_size=1, max_size=8).filter(lambda t: t not in AXES and "=" not in t))
def test_unknown_grid_axis_is_one_line_exit_2(capsys, name):
    assert expect_one_line_exit_2(capsys, ["grid", f"--axis={name}=1,2", "--eps=0.1", "--lam=0.1", "--alpha=1"],
                           "axis")


@pytest.mark.parametrize("args,needle", [
    (["grid", "--axis", "alpha=1", "--axis", "alpha=2", "--eps=0.1", "--lam=0.1"], "'alpha' is given twice"),
    (["grid", "--axis", "eps=0.1", "--eps=0.2", "--alpha=1", "--lam=0.1"], "--eps"),
    (["grid", "--axis", "alpha=1:2:1000000", "--axis", "eps=0:1:3", "--lam=0.1"], "more than the limit"),
    (["grid", "--axis", "alpha=1:2:100000000", "--eps=0.1", "--lam=0.1"], "100000000 values"),
    (["grid", "--axis", "alpha", "--eps=0.1", "--lam=0.1"], "--axis"),
    (["grid", "--axis", "alpha=1,2", "--eps=0.1"], "--lam"),
    (["grid", "--axis", "alpha=1,2", "--eps=0.1", "--lam=0.1", "--continuation=eps"], "continuation"),
    (["grid", "--axis", "r=1,2", "--reg=l2", "--eps=0.1", "--lam=0.1", "--alpha=1"], "--reg"),
    (["grid", "--axis", "lam=-1,0.1", "--axis", "eps=0.1,0.2", "--alpha=1", "--jobs=2"], "lam: must be >= 0"),
    (["sweep", "lam", "0.1,-1", "--alpha=1", "--eps=0.1", "--jobs=2"], "lam: must be >= 0"),
    (["compare", "--alpha=0.5", "--eps=0.1", "--lam=0.1", "--ds=50,50", "--seeds=2"], "distinct"),
    (["compare", "--alpha=0.5", "--eps=0.1", "--lam=0.1", "--ds=50,a", "--seeds=2"], "--ds"),
    (["compare", "--alpha=0.5", "--eps=0.1", "--lam=0.1", "--ds=", "--seeds=2"], "--ds"),
    (["simulate", "--alpha=0.5", "--eps=0.1", "--lam=0.1", "--d=20", "--solver=lbfgs", "--loss=hinge"], "solver"),
    (["simulate", "--alpha=0.5", "--eps=0.1", "--lam=0.1", "--d=20", "--solver=lbfgs", "--reg=l1"], "solver"),
    (["simulate", "--alpha=0.5", "--eps=0.1", "--lam=0.1", "--d=20", "--executor=dask"], "address"),
    (["figures", "make", "tradeoff", "--set", "no_equals_sign"], "--set"),
    (["solve", "--alpha=1", "--eps=0.1"], "--lam"),
])
def test_bad_combination_is_one_line_exit_2(capsys, args, needle):
    assert expect_one_line_exit_2(capsys, args, needle)


# ------------------------------------------------------------------ paths ------------------------------------------
PATH_CASES = [
    (["grid", "--axis", "alpha=1", "--eps=0.1", "--lam=0.1", "--cache", "{afile}"], "--cache"),
    (["grid", "--axis", "alpha=1", "--eps=0.1", "--lam=0.1", "--cache", "{afile}/sub"], "--cache"),
    (["sweep", "alpha", "1", "--eps=0.1", "--lam=0.1", "--cache", "{afile}/a/b/c"], "--cache"),
    (["sweep", "alpha", "1", "--eps=0.1", "--lam=0.1", "--cache", "/dev/null"], "--cache"),
    (["sweep", "alpha", "1", "--eps=0.1", "--lam=0.1", "--cache", "/proc/robustbias-cache"], "--cache"),
    (["sweep", "alpha", "1", "--eps=0.1", "--lam=0.1", "--plot", "{afile}/x.png"], "--plot"),
    (["sweep", "alpha", "1", "--eps=0.1", "--lam=0.1", "--plot", "{adir}"], "--plot"),
    (["sweep", "alpha", "1", "--eps=0.1", "--lam=0.1", "--plot", "{adir}/x.xyz"], "--plot"),
    (["sweep", "alpha", "1", "--eps=0.1", "--lam=0.1", "--plot", "/proc/x.png"], "--plot"),
    (SIMULATE + ["--cache", "{afile}"], "--cache"),
    (SIMULATE + ["--cache", "{afile}/x"], "--cache"),
    (COMPARE + ["--plot", "{afile}/p.png"], "--plot"),
    (COMPARE + ["--cache", "{afile}"], "--cache"),
    (["figures", "make", "tradeoff", "--out", "{afile}"], "--out"),
    (["figures", "make", "tradeoff", "--out", "{afile}/sub"], "--out"),
    (["bound", "--data", "{root}/missing.npz"], "missing.npz"),
    (["bound", "--data", "{adir}"], "adir"),
    (["margin", "--data", "{afile}"], "afile"),
    (["margin", "--data", "/dev/null"], "/dev/null"),
    (["margin", "--data", "{afile}/x.npz"], "x.npz"),
]


@pytest.mark.parametrize("args,needle", PATH_CASES)
def test_unusable_path_is_one_line_exit_2(capsys, files, args, needle):
    fill = dict(afile=files / "afile", adir=files / "adir", root=files, good=files / "good.npz")
    assert expect_one_line_exit_2(capsys, [a.format(**fill) for a in args], needle)


PATH_OPTIONS = {
    "--cache": ["sweep", "alpha", "1", "--eps=0.1", "--lam=0.1", "--cache"],
    "--plot": ["sweep", "alpha", "1", "--eps=0.1", "--lam=0.1", "--plot"],
    "--out": ["figures", "make", "tradeoff", "--out"],
    "--data": ["margin", "--data"],
}
component = st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), max_size=12)


def _hostile_path(root, how, text, option):
    suffix = ".png" if option == "--plot" else (".npz" if option == "--data" else "")
    if how == "under a file":
        return f"{root / 'afile'}/{text}{suffix}"
    if how == "NUL byte":
        return f"{root / 'adir'}/{text}\x00x{suffix}"
    return f"{root / 'adir'}/{text}{'y' * 300}{suffix}"             # a component over NAME_MAX (255)


@settings(FUZZ, max_examples=40)
@given(option=st.sampled_from(sorted(PATH_OPTIONS)), how=st.sampled_from(["under a file", "NUL byte", "too long"]),
       text=component)
def test_hostile_path_is_one_line_exit_2(capsys, files, option, how, text):
    assert expect_one_line_exit_2(capsys, [*PATH_OPTIONS[option], _hostile_path(files, how, text, option)], option)


# ------------------------------------------------------------------ npz files -------------------------------------
def _write_and_expect(capsys, tmp_path, command, payload: bytes, needle=None):
    path = tmp_path / "data.npz"
    path.write_bytes(payload)
    return expect_one_line_exit_2(capsys, [command, "--data", path], needle or "--data")


@settings(FUZZ, max_examples=25)
@given(command=st.sampled_from(["bound", "margin"]), payload=st.binary(max_size=200))
def test_random_bytes_as_npz_is_one_line_exit_2(capsys, tmp_path, command, payload):
    assert _write_and_expect(capsys, tmp_path, command, payload)


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


GOOD = _npz_bytes(X=np.eye(4)[:, :3] + 0.5, y=np.array([1.0, -1.0, 1.0, -1.0]))


@settings(FUZZ, max_examples=20)
@given(command=st.sampled_from(["bound", "margin"]), cut=st.integers(0, len(GOOD) - 1))
def test_truncated_npz_is_one_line_exit_2(capsys, tmp_path, command, cut):
    assert _write_and_expect(capsys, tmp_path, command, GOOD[:cut])


def _npy_bytes(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@settings(FUZZ, max_examples=10)
@given(command=st.sampled_from(["bound", "margin"]), shape=st.lists(st.integers(0, 4), min_size=0, max_size=3))
def test_npy_saved_as_npz_is_one_line_exit_2(capsys, tmp_path, command, shape):
    assert _write_and_expect(capsys, tmp_path, command, _npy_bytes(np.ones(shape)), ".npy")


def _defect(kind, n, d, rng):
    X = rng.normal(size=(n, d))
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    if kind == "complex X":
        return dict(X=X + 1j, y=y), "complex"
    if kind == "complex y":
        return dict(X=X, y=y.astype(complex)), "complex"
    if kind == "string X":
        return dict(X=X.astype(str), y=y), "numeric"
    if kind == "NaN in X":
        X[rng.integers(n), rng.integers(d)] = np.nan
        return dict(X=X, y=y), "NaN"
    if kind == "inf in X":
        X[rng.integers(n), rng.integers(d)] = -np.inf
        return dict(X=X, y=y), "NaN or inf"
    if kind == "label 0":
        y[rng.integers(n)] = 0.0
        return dict(X=X, y=y), "labels"
    if kind == "label NaN":
        y[rng.integers(n)] = np.nan
        return dict(X=X, y=y), "labels"
    if kind == "labels 0/1":
        labels = (y > 0).astype(float)
        labels[0] = 0.0
        return dict(X=X, y=labels), "labels"
    if kind == "y too long":
        return dict(X=X, y=np.append(y, 1.0)), "shape"
    if kind == "y 2-D":
        return dict(X=X, y=y[:, None]), "shape"
    if kind == "X 1-D":
        return dict(X=X[:, 0], y=y), "2-D"
    if kind == "X 3-D":
        return dict(X=X[:, :, None], y=y), "2-D"
    if kind == "no rows":
        return dict(X=X[:0], y=y[:0]), "non-empty"
    if kind == "no columns":
        return dict(X=X[:, :0], y=y), "non-empty"
    if kind == "missing X":
        return dict(x=X, y=y), "'X'"
    if kind == "missing y":
        return dict(X=X, labels=y), "'y'"
    if kind == "scalar y":
        return dict(X=X, y=np.float64(1.0)), "shape"
    raise AssertionError(kind)


DEFECTS = ["complex X", "complex y", "string X", "NaN in X", "inf in X", "label 0", "label NaN", "labels 0/1",
           "y too long", "y 2-D", "X 1-D", "X 3-D", "no rows", "no columns", "missing X", "missing y", "scalar y"]


@settings(FUZZ, max_examples=50)
@given(command=st.sampled_from(["bound", "margin"]), kind=st.sampled_from(DEFECTS), n=st.integers(1, 6),
       d=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_npz_with_bad_arrays_is_one_line_exit_2(capsys, tmp_path, command, kind, n, d, seed):
    arrays, needle = _defect(kind, n, d, np.random.default_rng(seed))
    assert _write_and_expect(capsys, tmp_path, command, _npz_bytes(**arrays), needle)


@pytest.mark.parametrize("kind", ["object array", "member not npy", "member truncated", "zip of nothing"])
def test_malformed_npz_members_are_one_line_exit_2(capsys, tmp_path, kind):
    if kind == "object array":
        payload = _npz_bytes(X=np.array([{}, 1], dtype=object), y=np.ones(2))
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            if kind == "member not npy":
                z.writestr("X.npy", b"garbage")
                z.writestr("y.npy", _npy_bytes(np.ones(2)))
            elif kind == "member truncated":
                z.writestr("X.npy", _npy_bytes(np.ones((3, 2)))[:-5])
                z.writestr("y.npy", _npy_bytes(np.ones(3)))
        payload = buf.getvalue()
    assert _write_and_expect(capsys, tmp_path, "margin", payload)
