"""Public exceptions survive pickling with every attribute (worker processes send them back), and a bad grid point
raises the same InvalidParameter serially and in parallel, before any worker starts."""
import importlib
import inspect
import pickle
import pkgutil
import re
from pathlib import Path

import pytest

import asymptotics
import simulate
from asymptotics import ConvergenceError, InvalidParameter, grid_sweep


def public_exception_classes():
    """Every public exception (or warning) class defined in asymptotics and simulate (deep needs torch: its
    modules raise the asymptotics exceptions only, checked by the grep below)."""
    found = {}
    for package in (asymptotics, simulate):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for name, obj in vars(module).items():
                if (inspect.isclass(obj) and issubclass(obj, BaseException) and not name.startswith("_")
                        and obj.__module__ == module.__name__):
                    found[f"{obj.__module__}.{name}"] = obj
    return found


def test_the_public_exceptions_are_the_ones_this_test_knows():
    assert set(public_exception_classes()) == {"asymptotics.errors.InvalidParameter",
                                               "asymptotics.errors.ConvergenceError", "asymptotics.cache.CacheWarning",
                                               "asymptotics.sensitivity.SingularPoint"}


def test_deep_defines_no_exception_of_its_own():
    root = Path(asymptotics.__file__).parent.parent / "deep"
    pattern = re.compile(r"^class \w+\([\w.]*(Error|Exception|Warning|InvalidParameter)\)", re.M)
    assert [p.name for p in root.rglob("*.py") if pattern.search(p.read_text())] == []


def roundtrip(exc):
    return pickle.loads(pickle.dumps(exc))


def test_invalid_parameter_roundtrip_keeps_name_message_and_extra_attributes():
    exc = InvalidParameter("alpha", "must be > 0, got -1.0")
    exc.extra = {"added": "later"}
    back = roundtrip(exc)
    assert type(back) is InvalidParameter and isinstance(back, ValueError)
    assert str(back) == "alpha: must be > 0, got -1.0" and back.args == exc.args
    assert back.parameter == "alpha" and back.message == "must be > 0, got -1.0" and back.extra == exc.extra


def test_convergence_error_roundtrip_keeps_every_attribute_and_the_text():
    exc = ConvergenceError("no fixed point", last_iterate={"m": 0.5, "q": 1.0}, residuals=[1.0, 0.1, 0.01],
                           hint="lower blend", diagnostics={"starts": 5, "zero_test": {"optimal": False}})
    exc.certificate = {"method": "cold", "residual": 1e-3}           # attributes added by other code survive too
    back = roundtrip(exc)
    assert type(back) is ConvergenceError and str(back) == str(exc) and back.args == exc.args
    assert back.__dict__ == exc.__dict__
    assert "Hint: lower blend" in str(back) and str(back).count("Hint:") == 1


@pytest.mark.parametrize("qualname", sorted(public_exception_classes()))
def test_every_public_exception_roundtrips(qualname):
    cls = public_exception_classes()[qualname]
    if issubclass(cls, InvalidParameter):
        exc = cls("p", "bad")
    elif issubclass(cls, ConvergenceError):
        exc = cls("stalled", residuals=[0.5], hint="h", diagnostics={"k": 1})
    else:
        exc = cls("message")
    exc.added_later = [1, 2]
    back = roundtrip(exc)
    assert type(back) is cls and str(back) == str(exc) and back.__dict__ == exc.__dict__


def invalid_grid_error(**engine):
    with pytest.raises(InvalidParameter) as info:
        grid_sweep({"lam": [-1.0, 0.1], "eps": [0.1, 0.2]}, continuation="lam", alpha=1.0, **engine)
    return info.value


def test_a_bad_point_raises_the_same_error_serially_and_on_two_workers(tmp_path):
    serial = invalid_grid_error(executor="serial")
    parallel = invalid_grid_error(executor="joblib", jobs=2, cache=tmp_path / "cache")
    assert (type(parallel), str(parallel), parallel.parameter) == (type(serial), str(serial), "lam")
    assert str(serial) == "lam: must be >= 0.0, got -1.0"
    assert not (tmp_path / "cache").exists()          # validated before the cache folder or a worker is touched


def _raise_in_worker(kind):
    if kind == "convergence":
        exc = ConvergenceError("stalled", last_iterate={"m": 0.1}, residuals=[0.5, 0.4], hint="lower blend",
                               diagnostics={"starts": 3})
        exc.certificate = {"method": "cold"}
        raise exc
    raise InvalidParameter("init", "m^2 must be < rho q")


KINDS = [("convergence", ConvergenceError), ("invalid", InvalidParameter)]


def _local(kind, cls):
    with pytest.raises(cls) as local:
        _raise_in_worker(kind)
    return local.value


@pytest.mark.parametrize("kind,cls", KINDS)
def test_an_exception_raised_in_a_forked_worker_arrives_whole(kind, cls):
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:
        with pytest.raises(cls) as info:
            pool.submit(_raise_in_worker, kind).result()
    local = _local(kind, cls)
    assert str(info.value) == str(local) and info.value.__dict__ == local.__dict__


@pytest.mark.slow
@pytest.mark.parametrize("kind,cls", KINDS)
def test_an_exception_raised_in_a_loky_worker_arrives_whole(kind, cls):
    from asymptotics.engine import run_tasks

    with pytest.raises(cls) as info:
        run_tasks(_raise_in_worker, [kind, kind], jobs=2, executor="joblib")   # joblib aborts the pool: slow
    local = _local(kind, cls)
    assert str(info.value) == str(local) and info.value.__dict__ == local.__dict__
