"""Users' own twin models: registered by name, imported by "module:attribute", in any process.

A user registers a pair in their conftest.py (the `pytest_twinbench_twins` hook, see
docs/adding-a-model.md) as ``{"mine": "my_twins:SPEC"}``: a name and where its ModelSpec
lives. The pytest process never imports it (it would import both frameworks); it records the
registration in the environment, which the worker processes and the parity proof inherit,
and each of those imports the spec when a case of it runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from twinbench.zoo.spec import ModelSpec

# JSON {name: {"target": "module:attribute", "path": directory to import it from}}.
ENV = "TWINBENCH_USER_TWINS"
# Case ids split on "-" and sizes ride on the model after a ".", so names have neither.
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
TARGET = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*\Z")


class TwinError(ValueError):
    """A user twin that cannot be registered or loaded; the message says what to do."""


@dataclass(frozen=True)
class UserTwin:
    """One registered twin: its name and where its ModelSpec lives."""

    name: str
    target: str  # "module:attribute", the module importable from `path`
    path: str | None  # directory put on sys.path first (None: importable as it is)


def register(entries: Iterable[Mapping[str, str]], builtin: Iterable[str]) -> list[UserTwin]:
    """Validate the hooks' answers and record them for this process and its children."""
    builtin_names, twins = set(builtin), dict[str, UserTwin]()
    for entry in entries:
        for name, target in entry.items():
            if name in builtin_names:
                raise TwinError(
                    f"user twin {name!r} clashes with the built-in model {name!r}; "
                    "rename your twin (built-in: " + ", ".join(sorted(builtin_names)) + ")"
                )
            if not NAME.match(name):
                raise TwinError(
                    f"user twin name {name!r} is not valid: use lower-case letters, digits "
                    "and '_', starting with a letter (case ids split on '-' and '.')"
                )
            if name in twins and twins[name].target != target:
                raise TwinError(
                    f"user twin {name!r} registered twice: {twins[name].target}, {target}"
                )
            twins[name] = UserTwin(name, target, _import_root(name, target))
    os.environ[ENV] = json.dumps({name: asdict(twin) for name, twin in twins.items()})
    return list(twins.values())


def _import_root(name: str, target: str) -> str | None:
    """The directory the target's top-level module is found in, without importing it."""
    if not TARGET.match(target):
        raise TwinError(
            f"user twin {name!r}: {target!r} is not 'module:attribute', e.g. 'my_twins:SPEC'"
        )
    top = target.split(":")[0].split(".")[0]
    found = importlib.util.find_spec(top)
    if found is None:
        raise TwinError(
            f"user twin {name!r}: module {top!r} not found; put {top}.py next to your "
            "conftest.py or install the package that holds it"
        )
    if found.origin is None or not found.has_location:  # namespace package or built-in
        return None
    origin = Path(found.origin)
    return str(origin.parent.parent if origin.name == "__init__.py" else origin.parent)


def registered() -> dict[str, UserTwin]:
    """The twins registered in this process or its parent, by name."""
    data = json.loads(os.environ.get(ENV) or "{}")
    return {name: UserTwin(**fields) for name, fields in data.items()}


def load_user_spec(name: str) -> ModelSpec:
    """Import a registered twin's ModelSpec, checking it is one and carries its name."""
    twin = registered()[name]
    if twin.path and twin.path not in sys.path:
        sys.path.insert(0, twin.path)
    module_name, attribute = twin.target.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise TwinError(
            f"user twin {name!r}: importing {module_name} failed: "
            f"{type(error).__name__}: {error}; fix the module, then run again"
        ) from error
    spec = getattr(module, attribute, None)
    if not isinstance(spec, ModelSpec):
        raise TwinError(
            f"user twin {name!r}: {twin.target} is {type(spec).__name__}, not a "
            "twinbench.zoo.spec.ModelSpec; point the registration at the ModelSpec"
        )
    if spec.name != name:
        raise TwinError(
            f"user twin {name!r}: {twin.target} is named {spec.name!r}; register it under "
            f"{spec.name!r} or give the ModelSpec name={name!r}"
        )
    return spec
