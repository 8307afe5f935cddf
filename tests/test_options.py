"""Option parsers: valid values pass through, unknown ones are errors listing the valid ones."""

import argparse
from pathlib import Path

import pytest

from twinbench.bench.options import OptionError, add_run_options
from twinbench.bench.parsers import batch_size_list, choice_list, positive_int, variant_list
from twinbench.bench.profiles import PROFILES
from twinbench.bench.resolve import resolve_options
from twinbench.core.cases import PRECISIONS, VARIANTS

BASE_VALUES = {
    "profile": "quick",
    "models": ("mlp",),
    "frameworks": ("torch",),
    "devices": ("cpu",),
    "modes": ("infer",),
    "batch_sizes": None,
    "sizes": None,
    "variants": None,
    "precisions": None,
    "threads": 3,
    "processes": None,
    "results_dir": None,
    "require_gpu": False,
    "save_baseline": None,
    "numerics_dir": None,
    "refresh_numerics": False,
    "no_compare": False,
    "strict_gate": False,
    "normalise_by_probe": False,
    "confirm_rounds": 3,
    "like_for_like": False,
    "baseline_window": 0,
    "baseline_code_check": "suspects",
    "regression_threshold": 1.1,
    "case_threshold": [],
}


def test_choice_list_accepts_subsets_and_drops_repeats():
    parse = choice_list(("mlp", "cnn"))
    assert parse("cnn, mlp,cnn") == ("cnn", "mlp")


@pytest.mark.parametrize("text", ["mpl", "mlp,resnet9", "", ","])
def test_choice_list_rejects_unknown_and_lists_valid(text):
    with pytest.raises(argparse.ArgumentTypeError, match="choose from: mlp, cnn"):
        choice_list(("mlp", "cnn"))(text)


def test_batch_sizes():
    assert batch_size_list("1,32,256,32") == (1, 32, 256)
    for bad in ("0", "-1", "x", "", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError, match="positive integers"):
            batch_size_list(bad)


def test_positive_int():
    assert positive_int("4") == 4
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int("0")


def test_profile_supplies_batch_sizes_unless_given(tmp_path: Path):
    values = dict(BASE_VALUES, profile="full", case_threshold=[("*-b1", 1.3)])
    options = resolve_options(values.__getitem__, tmp_path)
    assert options.selection.batch_sizes == PROFILES["full"].batch_sizes
    assert options.results_dir == Path("results")  # the current directory, as the console script
    assert options.threads == 3
    values["batch_sizes"] = (8,)
    assert resolve_options(values.__getitem__, tmp_path).selection.batch_sizes == (8,)


def test_variants_accept_keywords_and_names():
    assert variant_list("default") == ("graph", "eager")
    assert variant_list("all") == ("graph", "xla", "eager", "compile")
    assert variant_list("xla,default") == ("xla", "graph", "eager")
    with pytest.raises(argparse.ArgumentTypeError, match="choose from: default, all, graph"):
        variant_list("jit")


def test_profiles_choose_variants_and_precisions(tmp_path: Path):
    values = dict(BASE_VALUES)
    quick = resolve_options(values.__getitem__, tmp_path).selection
    assert (quick.variants, quick.precisions) == (("graph", "eager"), ("fp32",))
    values["profile"] = "full"
    full = resolve_options(values.__getitem__, tmp_path).selection
    assert (full.variants, full.precisions) == (VARIANTS, PRECISIONS)
    values.update(variants=("compile",), precisions=("bf16",))
    chosen = resolve_options(values.__getitem__, tmp_path).selection
    assert (chosen.variants, chosen.precisions) == (("compile",), ("bf16",))


def test_variants_of_no_selected_framework_select_nothing(tmp_path: Path):
    values = dict(BASE_VALUES, variants=("xla",))  # a keras variant, frameworks=torch
    with pytest.raises(OptionError, match=r"no case selected.*keras: graph, xla"):
        resolve_options(values.__getitem__, tmp_path)


def test_a_run_that_saves_a_baseline_measures_more_processes(tmp_path: Path):
    quick = PROFILES["quick"]
    assert quick.baseline_processes > quick.processes
    for how in ("replace", "extend"):
        values = dict(BASE_VALUES, save_baseline=how)
        options = resolve_options(values.__getitem__, tmp_path)
        assert options.processes == quick.baseline_processes
    assert resolve_options(BASE_VALUES.__getitem__, tmp_path).processes == quick.processes
    explicit = dict(BASE_VALUES, save_baseline="replace", processes=2)
    assert resolve_options(explicit.__getitem__, tmp_path).processes == 2


def run_option_values(*argv: str) -> dict:
    """The run options as pytest would parse them from `argv`."""
    parser = argparse.ArgumentParser()
    add_run_options(parser.add_argument)
    return vars(parser.parse_args(list(argv)))


@pytest.mark.parametrize(
    ("argv", "scope"),
    [
        ((), "all"),
        (("--baseline-code-check=suspects",), "suspects"),
        (("--baseline-code-check", "off"), "off"),
        (("--no-baseline-code-check",), "off"),
    ],
)
def test_the_baseline_code_check_option_reaches_the_gate_settings(argv, scope, tmp_path: Path):
    values = dict(BASE_VALUES, **run_option_values(*argv))
    assert resolve_options(values.__getitem__, tmp_path).gate.baseline_code_check == scope


def test_an_unknown_baseline_code_check_is_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit):
        run_option_values("--baseline-code-check=everything")
    assert "choose from 'suspects', 'all', 'off'" in capsys.readouterr().err
