"""User twins: the `pytest_twinbench_twins` hook's answers, validated and recorded."""

from __future__ import annotations

import pytest

from twinbench.bench.options import OptionError
from twinbench.zoo import MODEL_NAMES
from twinbench.zoo.user import TwinError, register


def register_user_twins(config: pytest.Config) -> list[str]:
    """Ask every conftest.py for its twins; record them for workers; their names.

    Raises OptionError (a usage error) for a name that clashes with a built-in model, a bad
    name or target, or a module that cannot be found.
    """
    answers = config.hook.pytest_twinbench_twins(config=config)
    try:
        twins = register((answer for answer in answers if answer), MODEL_NAMES)
    except TwinError as error:
        raise OptionError(str(error)) from error
    return [twin.name for twin in twins]
