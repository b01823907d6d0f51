"""Every registered figure honours the registry contract, and make() validates its arguments."""
import pytest

import figures
from asymptotics import InvalidParameter


@pytest.mark.parametrize("name", sorted(figures.available()))
def test_registered_module_follows_the_contract(name):
    mod = figures.get(name)
    assert mod.NAME == name and isinstance(mod.TITLE, str) and mod.TITLE
    assert {"quick", "paper"} <= set(mod.PRESETS)
    assert set(mod.PRESETS["quick"]) == set(mod.PRESETS["paper"]), "presets must set the same parameters"
    assert callable(mod.compute) and callable(mod.plot)
    assert all(isinstance(r, str) for r in getattr(mod, "REQUIRES", ()))


def test_make_rejects_unknown_names_presets_and_parameters(tmp_path):
    with pytest.raises(InvalidParameter, match="unknown figure"):
        figures.make("no_such_figure", outdir=tmp_path)
    with pytest.raises(InvalidParameter, match="preset"):
        figures.make("tradeoff", preset="huge", outdir=tmp_path)
    with pytest.raises(InvalidParameter, match="no parameter"):
        figures.make("tradeoff", outdir=tmp_path, overrides={"not_a_parameter": 1})
