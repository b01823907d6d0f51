"""flavors_test_accuracy: the logged test accuracy is the held-out accuracy of the trained net, runs reused from
margins_steepest_descent's JSON equal recomputed ones (fast, tiny nets); the quick preset's claims (slow)."""
import json

import pytest

import figures
from figures.claims import evaluate

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from figures import flavors_test_accuracy as fta  # noqa: E402

TINY = dict(n_train=30, n_test=40, width=8, steps=60, points=8, algorithms=["gd", "cd"], device="cpu")


def test_reused_runs_equal_recomputed_runs_and_start_at_the_init_accuracy(tmp_path):
    from deep.data import digits_binary
    from deep.models import HomogeneousMLP

    from figures import io
    from figures import margins_steepest_descent as msd

    # margins_steepest_descent's files, as make() writes them (compute only: its plot is not under test here)
    margin_params = {**msd.PRESETS["quick"], **TINY, "pair": [0, 1], "kkt": False}
    margin_data = msd.compute(margin_params)
    io.write_json(tmp_path / "margins_steepest_descent.json", margin_data)
    io.write_json(tmp_path / "margins_steepest_descent.params.json", {"params": margin_params})
    params = {**fta.PRESETS["quick"], **TINY, "pairs": [[0, 1]]}
    a = json.loads(json.dumps(io.to_jsonable(fta.compute({**params, "reuse_dir": str(tmp_path)}))))
    b = json.loads(json.dumps(io.to_jsonable(fta.compute({**params, "reuse_dir": None}))))
    assert a["pairs"]["0v1"]["source"] == "margins_steepest_descent.json" and b["pairs"]["0v1"]["source"] == "computed"
    assert a["pairs"]["0v1"]["runs"] == b["pairs"]["0v1"]["runs"]           # same experiment, float64, same seeds
    stored = json.loads(json.dumps(io.to_jsonable(margin_data)))["runs"]["cd"]["history"]["test_accuracy"]
    assert a["pairs"]["0v1"]["runs"]["cd"]["test_accuracy"] == stored
    # step 0 is the initial net: its accuracy on the held-out digits, computed here from the same seed
    data = digits_binary((0, 1), n_train=30, n_test=40, seed=0, dtype=torch.float64)
    model = HomogeneousMLP(data.n_features, [8], init_scale=1.0, generator=torch.Generator().manual_seed(0),
                           dtype=torch.float64)
    with torch.no_grad():
        acc = float(((model(data.X_test).reshape(-1) * data.y_test) > 0).double().mean())
    for run in b["pairs"]["0v1"]["runs"].values():
        assert run["step"][0] == 0 and run["test_accuracy"][0] == pytest.approx(acc, abs=0)
        assert all(0.0 <= x <= 1.0 for x in run["test_accuracy"])
        assert all(round(x * 40) == pytest.approx(x * 40, abs=1e-9) for x in run["test_accuracy"])  # k/40


def test_stale_margins_data_is_not_reused(tmp_path):
    (tmp_path / "margins_steepest_descent.params.json").write_text(json.dumps(
        {"params": {**fta.network_params({**fta.PRESETS["quick"], "steps": 1}, [0, 1])}}))
    (tmp_path / "margins_steepest_descent.json").write_text(json.dumps({"runs": {}}))
    assert fta.reusable_runs({**fta.PRESETS["quick"], "reuse_dir": str(tmp_path)}) == {}   # steps differ


def test_winner_and_difference_measures_by_hand():
    runs = lambda accs: {a: {"test_accuracy": [0.5, v], "train_accuracy": [1.0, 1.0]} for a, v in accs.items()}  # noqa
    data = {"algorithms": ["gd", "sign", "cd"], "n_test": 100,
            "pairs": {"0v1": {"runs": runs({"gd": 0.99, "sign": 0.99, "cd": 0.90})},
                      "3v8": {"runs": runs({"gd": 0.95, "sign": 0.97, "cd": 0.97})}}}
    assert fta.universal_winners(data) == ["sign"]          # ties count: sign is >= the others on both pairs
    z, where = fta.largest_difference_z(data)
    assert where == "0v1 gd-cd" and z == pytest.approx(0.09 / ((0.99 * 0.01 + 0.9 * 0.1) / 100) ** 0.5, rel=1e-12)
    data["pairs"]["3v8"]["runs"]["sign"]["test_accuracy"][-1] = 0.96
    assert fta.universal_winners(data) == []


@pytest.mark.slow
@pytest.mark.extended
def test_flavors_quick_preset_claims(tmp_path):
    out = figures.make(fta.NAME, preset="quick", outdir=tmp_path, overrides={"reuse_dir": None})
    data = json.loads(out.data.read_text())
    params = json.loads(out.params.read_text())["params"]
    results = {r.claim: r for r in evaluate(fta.NAME, fta.CLAIMS, data, params, "quick")}
    assert all(r.ok for r in results.values()), {k: r.value for k, r in results.items()}
    assert not results["no_universal_winner"].expected        # stated non-reproduction (evidence in the module)
