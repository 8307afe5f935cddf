"""The nightly's stack axis, checked without the network (#16 item 4, #13 items 1, 9, 15).

tox is not run: its configuration is read and each stack's install is rendered as the pip
commands tox would run, a dry run of the pre-release install step.
"""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRERELEASE_ENVS = {
    "bench-cuda-prerelease": "https://download.pytorch.org/whl/nightly/cu128",
    "bench-prerelease": "https://download.pytorch.org/whl/nightly/cpu",
}
FRAMEWORKS = {"torch", "tensorflow", "keras"}


def tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return parser


def lines(value: str) -> list[str]:
    return [line.strip() for line in value.strip().splitlines() if line.strip()]


def env_deps(config: configparser.ConfigParser, env: str) -> list[str]:
    """An environment's deps with tox's {[section]key} references expanded."""
    deps = []
    for line in lines(config[f"testenv:{env}"]["deps"]):
        reference = re.fullmatch(r"\{\[(.+)\](\w+)\}", line)
        deps += lines(config[reference[1]][reference[2]]) if reference else [line]
    return deps


def install_commands(config: configparser.ConfigParser, env: str) -> list[list[str]]:
    """The pip commands tox runs to install `env` (deps, then the package or commands_pre)."""
    section = config[f"testenv:{env}"]
    template = section.get("install_command", config["testenv"]["install_command"])
    command = template.replace("{toxinidir}", str(ROOT)).replace("{opts}", "")
    deps = env_deps(config, env) if "deps" in section else []
    commands = [shlex.split(command.replace("{packages}", shlex.join(deps)))] if deps else []
    if section.get("skip_install") != "true":
        commands.append(shlex.split(command.replace("{packages}", "-e " + str(ROOT))))
    for pre in lines(section.get("commands_pre", "")):
        commands.append(shlex.split(pre.replace("{toxinidir}", str(ROOT))))
    return commands


def name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0].lower()


@pytest.mark.parametrize("env", sorted(PRERELEASE_ENVS))
def test_a_prerelease_stack_installs_tomorrows_frameworks_alone(env):
    config = tox()
    deps = env_deps(config, env)
    for framework in ("torch", "tf-nightly", "keras-nightly"):
        (spec,) = [dep for dep in deps if name(dep) == framework]
        assert ">=0.dev0" in spec, f"{env}: {spec} would not take a pre-release"
    assert not {name(dep) for dep in deps} & {"tensorflow", "keras"}, "the releases would win"
    commands = install_commands(config, env)
    assert all("--pre" not in command for command in commands), "--pre would take every package"
    assert PRERELEASE_ENVS[env] in commands[0]
    assert commands[-1][-4:] == ["install", "--no-deps", "-e", str(ROOT)]


@pytest.mark.parametrize("env", sorted(PRERELEASE_ENVS))
def test_a_prerelease_stack_installs_every_other_dependency_of_twinbench(env):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = {name(dep) for dep in project["dependencies"]} - FRAMEWORKS
    assert needed <= {name(dep) for dep in env_deps(tox(), env)}


def test_the_pinned_cuda_stack_runs_cuda_cases_only_on_one_cuda_major():
    config = tox()
    section = config["testenv:bench-cuda"]
    assert "--devices cuda --require-gpu" in section["commands"]
    (install,) = install_commands(config, "bench-cuda")[:1]
    assert install[install.index("-c") + 1] == str(ROOT / "constraints" / "cuda.txt")
    assert "https://download.pytorch.org/whl/cu128" in install
    pins = dict(
        line.split("==")
        for line in (ROOT / "constraints" / "cuda.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert pins["torch"].endswith("+cu128"), "PyPI's default torch wheel targets CUDA 13"
    assert "tensorflow[and-cuda]" in section["deps"]
    cpu = (ROOT / "constraints" / "cpu.txt").read_text()
    for package in ("tensorflow", "keras", "numpy"):  # the same releases as the CPU pins
        assert f"{package}=={pins[package]}" in cpu


def test_compiler_and_cuda_cache_settings_reach_the_benchmarks():
    passenv = tox()["testenv"]["passenv"]
    for variable in ("CUDA_CACHE_*", "XLA_FLAGS", "TORCHINDUCTOR_*", "PIP_CACHE_DIR"):
        assert variable in passenv
