"""Hooks twinbench adds to pytest, for a user's conftest.py (docs/adding-a-model.md)."""

from __future__ import annotations

import pytest


def pytest_twinbench_twins(config: pytest.Config) -> dict[str, str]:  # type: ignore[empty-body]
    """Register your own twin models: return ``{name: "module:attribute"}``.

    Each attribute is a `twinbench.zoo.spec.ModelSpec` whose `name` is the key; the module is
    imported only in the processes that prove and time it, from the directory it is found in
    now (next to your conftest.py, or installed). ``pytest benches --models NAME`` then proves
    the pair identical and runs it through the whole matrix, gate and history.
    """
