"""Every public function and class (tests/docs/public_api.py) has a numpydoc docstring -- a summary, every
parameter of its signature under Parameters (or Attributes, for a class), Returns for a function that returns
something, and an Examples section -- and its examples run as doctests.

The doctests are run here rather than with ``--doctest-modules`` so that the deep/ ones skip cleanly without torch
and each object is one test. They are kept small: about 12 s for all 262 objects on 2 CPU cores, of which a few
seconds are one-time numba and torch warm-up; they are marked ``slow`` (the docstring checks are not), so the
fast loop stays fast and the full suite (CI) runs them.
"""
from __future__ import annotations

import doctest
import inspect
import re
import time

import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc

from .public_api import HAS_TORCH, core_api, deep_api


def _marked(items):
    return [pytest.param(n, o, id=n) for n, o in items]


CORE = core_api()
DEEP = deep_api() if HAS_TORCH else []
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="deep/ needs torch (pip install 'robustbias[deep]')")


def _params(obj) -> list[str]:
    """Parameter names of a function, or of a class's constructor (self, and *args/**kwargs of a class, left out)."""
    target = obj
    if inspect.isclass(obj):
        init = obj.__dict__.get("__init__")
        if init is None:                      # dataclass or inherited constructor
            try:
                sig = inspect.signature(obj)
            except (TypeError, ValueError):
                return []
            return [p.name for p in sig.parameters.values()
                    if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        target = init
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    names = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls"):
            continue
        names.append(("*" if p.kind == p.VAR_POSITIONAL else "**" if p.kind == p.VAR_KEYWORD else "") + p.name)
    return names


def _documented(entries) -> set[str]:
    """Names in a Parameters/Attributes section; ``a, b : float`` documents a and b."""
    names = set()
    for entry in entries:
        for part in entry.name.split(","):
            part = part.strip()
            if part:
                names.add(part)
                names.add(part.lstrip("*"))
    return names


def _returns_something(func) -> bool:
    ann = inspect.signature(func).return_annotation
    return ann not in (None, "None")


def docstring_problems(name: str, obj) -> list[str]:
    doc = inspect.getdoc(obj)
    if not doc or obj.__doc__ is None:
        return ["no docstring"]
    problems = []
    parsed = ClassDoc(obj, config={"show_class_members": False}) if inspect.isclass(obj) else FunctionDoc(obj)
    if not "".join(parsed["Summary"]).strip():
        problems.append("no summary line")
    documented = _documented(parsed["Parameters"]) | _documented(parsed["Other Parameters"])
    if inspect.isclass(obj):
        documented |= _documented(parsed["Attributes"])
    missing = [p for p in _params(obj) if p not in documented and p.lstrip("*") not in documented]
    if missing:
        problems.append(f"parameters not documented: {missing}")
    if inspect.isfunction(obj) and _returns_something(obj) and not (parsed["Returns"] or parsed["Yields"]):
        problems.append("no Returns section")
    examples = "\n".join(parsed["Examples"])
    if ">>>" not in examples:
        problems.append("no Examples section with a >>> example")
    return problems


def _ids(items):
    return [name for name, _ in items]


@pytest.mark.parametrize("name,obj", _marked(CORE))
def test_core_docstring_is_numpydoc_with_an_example(name, obj):
    assert docstring_problems(name, obj) == []


@needs_torch
@pytest.mark.parametrize("name,obj", _marked(DEEP))
def test_deep_docstring_is_numpydoc_with_an_example(name, obj):
    assert docstring_problems(name, obj) == []


def test_the_public_api_is_not_empty():
    """A broken enumeration (an import that silently yields nothing) must not pass the tests above vacuously."""
    names = set(_ids(CORE))
    assert {"asymptotics.solve", "asymptotics.sweep", "asymptotics.SweepResult", "asymptotics.GridResult",
            "simulate.erm", "simulate.ErmResult"} <= names
    assert len(CORE) >= 45
    if HAS_TORCH:
        assert len(DEEP) >= 200


def run_doctests(name: str, obj) -> tuple[int, int]:
    """Run the examples of ``obj`` (and, for a class, of its own methods); return (failed, attempted)."""
    finder = doctest.DocTestFinder(recurse=inspect.isclass(obj), exclude_empty=True)
    module = inspect.getmodule(obj)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(obj, name, module=module):       # globals: a copy of the module's, as doctest does
        runner.run(test)
    return runner.failures, runner.tries


def _timed_doctests(name, obj) -> tuple[int, int, float]:
    """(failed, attempted, seconds) of the examples of ``obj``."""
    start = time.perf_counter()
    failed, tried = run_doctests(name, obj)
    return failed, tried, time.perf_counter() - start


@pytest.mark.slow
@pytest.mark.parametrize("name,obj", _marked(CORE))
def test_core_examples_run(name, obj):
    failed, tried, seconds = _timed_doctests(name, obj)
    assert tried > 0 and failed == 0, f"{name}: {failed} of {tried} examples failed (their output is above)"
    assert seconds < 30, f"{name}: examples too slow for the test suite"


@pytest.mark.slow
@needs_torch
@pytest.mark.parametrize("name,obj", _marked(DEEP))
def test_deep_examples_run(name, obj):
    import torch

    torch.manual_seed(0)
    failed, tried, seconds = _timed_doctests(name, obj)
    assert tried > 0 and failed == 0, f"{name}: {failed} of {tried} examples failed (their output is above)"
    assert seconds < 30, f"{name}: examples too slow for the test suite"


def test_docstring_checker_catches_a_missing_parameter_and_example():
    def f(a, b):
        """Add.

        Parameters
        ----------
        a : int
            First.

        Returns
        -------
        int
        """
        return a + b

    assert docstring_problems("f", f) == ["parameters not documented: ['b']",
                                          "no Examples section with a >>> example"]


def test_doctest_runner_reports_a_wrong_example():
    def g():
        """Two.

        Examples
        --------
        >>> 1 + 1
        3
        """

    assert run_doctests("g", g) == (1, 1)
