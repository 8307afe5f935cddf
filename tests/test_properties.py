"""The Hypothesis profiles: few replayable examples in .ci/run, many under `thorough`."""

from __future__ import annotations

from fixtures import properties
from hypothesis import settings


def test_ci_runs_the_few_examples_a_test_names_the_same_every_time(monkeypatch):
    monkeypatch.setattr(properties, "active_profile", "ci")
    assert properties.examples(8).max_examples == 8
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.print_blob  # a failure replays on the next run


def test_thorough_runs_many_random_examples_and_keeps_failures(monkeypatch):
    thorough = settings.get_profile("thorough")
    assert thorough.max_examples >= 100 and not thorough.derandomize
    assert thorough.database is not None and thorough.print_blob
    monkeypatch.setattr(properties, "active_profile", "thorough")
    settings.load_profile("thorough")
    try:
        assert properties.examples(8).max_examples == thorough.max_examples
        assert properties.examples(8, at_most=20).max_examples == 20
    finally:
        settings.load_profile("ci")
