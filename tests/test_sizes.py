"""The size axis: ids that keep tiny cases as they were, which sizes run where, and what the
full sizes cost in FLOPs as the counter sees them."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from twinbench.bench.options import (
    OptionError,
    add_bench_options,
    add_gate_options,
    add_run_options,
)
from twinbench.bench.resolve import resolve_options
from twinbench.core.cases import TINY, Case, build_matrix, migrate_case_id
from twinbench.measure.flops import count_step_flops
from twinbench.zoo import MODEL_SIZES, TOKENS_PER_EXAMPLE, gpt, load_spec

ROOT = Path(__file__).resolve().parents[1]


def parsed_defaults() -> dict[str, object]:
    """Every option's default, from the same functions that register the options with pytest
    (a hand-kept copy drifts whenever an option is added)."""
    parser = argparse.ArgumentParser()
    for add in (add_bench_options, add_run_options, add_gate_options):
        add(parser.add_argument)
    return vars(parser.parse_args([]))


VALUES = {
    **parsed_defaults(),
    "profile": "full",
    "frameworks": ("keras", "torch"),
    "devices": ("cpu", "cuda"),
    "threads": 2,
}


def matrix(**values: object) -> list[Case]:
    return build_matrix(resolve_options({**VALUES, **values}.__getitem__, ROOT).selection)


def test_tiny_ids_are_unchanged_and_other_sizes_ride_on_the_model():
    tiny = Case("resnet", "torch", "cuda", "train", 8)
    assert tiny.id == "resnet-torch-eager-cuda-train-fp32-b8" and tiny.size == TINY
    full = Case("resnet", "torch", "cuda", "train", 8, precision="bf16", size="full")
    assert full.id == "resnet.full-torch-eager-cuda-train-bf16-b8"
    assert full.group == "resnet.full-default-cuda-train-bf16-b8"
    assert Case.from_id(full.id) == full and Case.from_id(tiny.id) == tiny


def test_every_stored_case_id_still_reads_as_tiny():
    ids = []
    for path in [*ROOT.glob("fixtures/runfiles/*.json"), *ROOT.glob("results/**/*.json")]:
        run = json.loads(path.read_text())
        found = [bench["param"] for bench in run.get("benchmarks", [])]
        ids += [i if len(i.split("-")) == 7 else migrate_case_id(i) for i in found]
    assert ids and all(
        Case.from_id(i).size == TINY and Case.from_id(i).id == i for i in ids if "-b" in i
    )


def test_full_profile_runs_full_sizes_on_cuda_only_at_its_large_batch_sizes():
    cases = matrix()
    full = [c for c in cases if c.size != TINY]
    assert {c.model for c in full} == set(MODEL_SIZES) == {"resnet", "gpt"}
    assert {c.device for c in full} == {"cuda"}
    assert {c.batch for c in full} == {1, 8}
    assert {c.precision for c in full} == {"fp32", "bf16"}
    assert {c.size for c in cases if c.model == "mlp"} == {TINY}


def test_sizes_option_opts_the_cpu_in():
    cases = matrix(profile="quick", models=("resnet", "gpt"), sizes=("full",), devices=("cpu",))
    assert {(c.model, c.size, c.batch) for c in cases} == {
        ("resnet", "full", 1),
        ("gpt", "full", 1),
    }


def test_a_size_no_selected_model_has_is_a_usage_error_naming_the_sized_models():
    with pytest.raises(OptionError, match=r"--sizes full names no size of --models mlp.*resnet"):
        matrix(models=("mlp",), sizes=("full",))


def test_full_size_fit_is_not_benchmarked():
    from twinbench.core.cases import unsupported

    assert "tiny sizes only" in (
        unsupported(Case("resnet", "torch", "cuda", "fit", 32, size="full")) or ""
    )


def test_causal_lm_flops_count_the_whole_attention_square():
    """The counter sees the causal mask as the math backend computes it: all T x T products."""
    c = gpt.CONFIG
    t, d, layers = c.seq_len, c.d_model, c.n_layers
    dense = layers * (4 * d * d + 2 * d * 4 * d) + d * c.vocab_size  # per token
    attention = layers * 2 * t * t * d  # q k^T and the weighted sum, unmasked
    assert count_step_flops(gpt.SPEC, "infer", 3) == 3 * 2 * (t * dense + attention)


def test_resnet50_counts_its_known_4_1_giga_multiply_adds():
    assert count_step_flops(load_spec("resnet", "full"), "infer", 1) == 8_178_368_512


def test_gpt_builds_and_runs_under_keras_mixed_bfloat16():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from twinbench.zoo.spec import make_batch, use_mixed_bfloat16

    model = gpt.SPEC.build_keras("float32")
    use_mixed_bfloat16(model)
    x, _ = make_batch(gpt.SPEC, 1, 0)
    logits = model(x, training=False)
    assert str(logits.dtype) == "<dtype: 'bfloat16'>" or "bfloat16" in str(logits.dtype)
    assert tuple(logits.shape) == (gpt.CONFIG.seq_len, gpt.CONFIG.vocab_size)


def test_tokens_per_example_match_the_language_models():
    for sized, tokens in TOKENS_PER_EXAMPLE.items():
        model, _, size = sized.partition(".")
        assert load_spec(model, size or TINY).labels_per_example == tokens


def test_throughput_sits_beside_the_time_per_step():
    from twinbench.render.text import _rate_cell
    from twinbench.results.runfile import CaseRow

    lm = CaseRow(Case("gpt", "torch", "cuda", "train", 8, size="full"), "ok", median_s=0.5)
    assert _rate_cell(lm) == "16.4k tok/s"  # 8 x 1024 tokens in half a second
    image = CaseRow(Case("resnet", "keras", "cuda", "infer", 32), "ok", median_s=0.01)
    assert _rate_cell(image) == "3.2k ex/s"
