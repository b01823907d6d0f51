"""The command line explains itself: a description on every command's help page and help text for every option,
a top-level help that is not an internal docstring, a ``--set`` example that runs, the paths of written files,
labelled uncertainties, and one JSON shape for ``sweep`` in the CLI and the API."""
import argparse
import json
import shlex

import pytest

from robustbias.cli import build_parser, main


def walk(parser, path=("robustbias",)):
    """Yield (command path, parser) for the top level and every sub-command, depth first."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, path + (name,))


PAGES = list(walk(build_parser()))


def test_the_command_tree_is_complete():
    names = {" ".join(path) for path, _ in PAGES}
    assert names == {"robustbias", "robustbias solve", "robustbias sweep", "robustbias grid", "robustbias simulate",
                     "robustbias compare", "robustbias bound", "robustbias margin", "robustbias figures",
                     "robustbias figures list", "robustbias figures make", "robustbias figures all",
                     "robustbias figures check"}


@pytest.mark.parametrize("path,parser", PAGES, ids=[" ".join(p) for p, _ in PAGES])
def test_every_command_has_a_description_and_every_option_help(path, parser):
    assert parser.description and len(parser.description) > 40, f"{' '.join(path)}: no description"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"{' '.join(path)} {choice.dest}: no one-line help in the command list"
            continue
        assert action.help and action.help != argparse.SUPPRESS, \
            f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}: no help text"


def test_top_level_help_is_written_for_users(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "COMMAND_MODULES" not in out and "One module per command group" not in out
    assert "Errors are probabilities" in out and "exit status" in out
    for command in ("solve", "sweep", "grid", "simulate", "compare", "bound", "margin", "figures"):
        assert f"\n    {command} " in out


def test_every_help_page_prints(capsys):
    for path, _ in PAGES:
        assert main([*path[1:], "--help"]) == 0
        assert capsys.readouterr().out.startswith(f"usage: {' '.join(path)}")


@pytest.mark.slow
def test_the_set_example_in_the_help_of_figures_make_runs(tmp_path, capsys):
    from robustbias.cli.figures_cmd import SET_EXAMPLE

    assert main(["figures", "make", "--help"]) == 0
    assert " ".join(SET_EXAMPLE.split()) in " ".join(capsys.readouterr().out.split())
    args = shlex.split(SET_EXAMPLE)
    assert args[0] == "robustbias"
    assert main([*args[1:], "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    params = json.loads((tmp_path / "errors_vs_alpha.params.json").read_text())["params"]
    assert params["n_alpha"] == 8 and params["r_values"] == [1, 2]
    for suffix in (".png", ".json", ".params.json"):       # every written file's path is printed
        assert str(tmp_path / f"errors_vs_alpha{suffix}") in out


def test_sweep_json_equals_the_api_to_dict(capsys):
    from asymptotics import sweep
    from figures.io import to_jsonable

    assert main(["sweep", "eps", "0,0.1,0.2", "--alpha", "1", "--lam", "0.1", "--reg", "l1", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    api = json.loads(json.dumps(to_jsonable(sweep("eps", [0.0, 0.1, 0.2], alpha=1.0, lam=0.1, attack="linf",
                                                  reg="l1", loss="logistic",
                                                  solver_options={"tol": 1e-8}).to_dict())))

    def timeless(d):      # wall-clock seconds differ from run to run; everything else must be equal
        return {**d, "records": [{k: v for k, v in r.items() if k != "seconds"} for r in d["records"]]}

    assert set(cli) == {"param", "values", "records", "failures", "cached"}
    assert timeless(cli) == timeless(api)


def test_sweep_text_prints_the_plot_path_and_says_errors_are_probabilities(tmp_path, capsys):
    png = tmp_path / "sweep.png"
    assert main(["sweep", "alpha", "0.5,1", "--eps", "0.1", "--lam", "0.1", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert png.stat().st_size > 1000 and f"wrote {png}" in out
    assert "errors are probabilities in [0, 1]" in out


def test_sweep_json_keeps_stdout_pure_and_names_the_plot_on_stderr(tmp_path, capsys):
    png = tmp_path / "sweep.png"
    assert main(["sweep", "alpha", "0.5,1", "--eps", "0.1", "--lam", "0.1", "--plot", str(png), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["param"] == "alpha"
    assert captured.err == f"robustbias: wrote {png}\n"


def test_solve_text_says_errors_are_probabilities(capsys):
    assert main(["solve", "--alpha", "1", "--eps", "0.1", "--lam", "0.1"]) == 0
    assert "are probabilities in [0, 1]" in capsys.readouterr().out


def test_simulate_labels_the_plus_minus_as_std_over_seeds(capsys):
    assert main(["simulate", "--alpha", "0.5", "--eps", "0.1", "--lam", "0.1", "--d", "100", "--seeds", "2",
                 "--n-test", "200"]) == 0
    out = capsys.readouterr().out
    assert "mean +- std over 2 seeds (ddof=1" in out and "errors are probabilities" in out


def test_compare_text_explains_its_columns(capsys):
    assert main(["compare", "--alpha", "0.5", "--eps", "0.1", "--lam", "0.1", "--ds", "100,200", "--seeds", "2",
                 "--n-test", "200"]) == 0
    out = capsys.readouterr().out
    assert "errors are probabilities in [0, 1]" in out and "se: its standard error" in out
