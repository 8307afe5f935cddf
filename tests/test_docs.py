"""The user documentation stays true: its links resolve and the commands it shows parse.

Reads README.md and docs/*.md as they are when the tests run, and the options from the live
parsers (`twinbench.cli.build_parser()`, `pytest benches --help`), so pages and options that
other changes add are checked without a list kept here.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from twinbench.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SEPARATORS = {"&&", "||", ";", "|", "&"}
LOOKS_LIKE_COMMAND = re.compile(r"^\s*(\S+=\S*\s+)*(\S*/)?(twinbench|pytest\s+benches)\b")


def _documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _doc_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


DOCUMENTS = pytest.mark.parametrize("doc", _documents(), ids=_doc_id)


def _split_fences(text: str) -> tuple[list[tuple[int, str]], list[list[tuple[int, str]]]]:
    """Prose lines and fenced code blocks, each line with its number."""
    prose: list[tuple[int, str]] = []
    blocks: list[list[tuple[int, str]]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
            blocks.append([])
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is not None:
            blocks[-1].append((number, line))
        else:
            prose.append((number, line))
    return prose, blocks


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower case, punctuation dropped,
    spaces as hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(2), heading)
    text = LINK.sub(lambda m: m.group(1), text)
    text = re.sub(r"<[^>]+>", "", text).replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, duplicates numbered as GitHub does."""
    prose, _ = _split_fences(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    anchors = set()
    for _, line in prose:
        heading = HEADING.match(line)
        if heading is None:
            continue
        anchor = github_anchor(heading.group(2))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


def relative_links(path: Path) -> Iterator[tuple[int, str]]:
    """Each link outside code that points into the repository, with its line number."""
    prose, _ = _split_fences(path.read_text(encoding="utf-8"))
    for number, line in prose:
        text = INLINE_CODE.sub("", line)
        targets = [m.group(2) for m in LINK.finditer(text)]
        definition = LINK_DEFINITION.match(text)
        targets += [definition.group(1)] if definition else []
        yield from ((number, t) for t in targets if not SCHEME.match(t))


def link_problem(doc: Path, target: str) -> str | None:
    """Why a relative link from `doc` does not resolve, or None when it does."""
    file_part, _, anchor = target.partition("#")
    linked = (doc.parent / file_part).resolve() if file_part else doc
    if not linked.exists():
        return f"no file {linked.relative_to(ROOT) if linked.is_relative_to(ROOT) else linked}"
    if anchor and linked.suffix == ".md" and anchor not in anchors_of(linked):
        return f"no heading with anchor #{anchor} in {linked.relative_to(ROOT)}"
    return None


@DOCUMENTS
def test_relative_links_resolve(doc: Path) -> None:
    """A link to a file of the repository finds the file, and its #anchor a heading there."""
    broken = [
        f"{_doc_id(doc)}:{number}: ({target}) {problem}"
        for number, target in relative_links(doc)
        if (problem := link_problem(doc, target)) is not None
    ]
    assert broken == []


def _logical_lines(block: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Lines of a code block with backslash continuations joined and shell prompts dropped."""
    pending: tuple[int, str] | None = None
    for number, line in block:
        start, text = pending if pending else (number, "")
        text += line.rstrip()
        if text.endswith("\\"):
            pending = (start, text[:-1] + " ")
            continue
        pending = None
        yield start, re.sub(r"^\s*\$\s+", "", text)
    if pending:
        yield pending


def shell_commands(line: str) -> Iterator[list[str]]:
    """The simple commands of one shell line (split at && || ; |), without env assignments."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    command: list[str] = []
    for token in [*lexer, ";"]:
        if token in SEPARATORS:
            while command and ENV_ASSIGNMENT.match(command[0]):
                command.pop(0)
            if command:
                yield command
            command = []
        else:
            command.append(token)


def documented_commands(doc: Path) -> Iterator[tuple[int, list[str]]]:
    """Each `twinbench ...` or `pytest benches ...` command in the fenced blocks of `doc`."""
    _, blocks = _split_fences(doc.read_text(encoding="utf-8"))
    for block in blocks:
        for number, line in _logical_lines(block):
            try:
                argvs = list(shell_commands(line))
            except ValueError as error:  # not shell (a tree, a table), unless it looks like it
                assert not LOOKS_LIKE_COMMAND.match(line), f"{_doc_id(doc)}:{number}: {error}"
                continue
            for argv in argvs:
                program = os.path.basename(argv[0])
                if program == "twinbench" or (program == "pytest" and argv[1:2] == ["benches"]):
                    yield number, argv


HELP_OPTION_LINE = re.compile(r"^  (-\S.*?)(?:\s{2,}|$)")
OPTION_NAME = re.compile(r"(?:^|,\s)(--?[A-Za-z0-9][\w-]*)")


def options_in_help(text: str) -> set[str]:
    """The option names a --help text lists (argparse's and pytest's layout alike)."""
    names: set[str] = set()
    for line in text.splitlines():
        listed = HELP_OPTION_LINE.match(line)
        if listed:
            names.update(OPTION_NAME.findall(listed.group(1)))
    return names


def twinbench_help(words: list[str]) -> str | None:
    """What `twinbench WORDS --help` prints, from the console script's own parser; None
    when the parser refuses WORDS (no such subcommand)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args([*words, "--help"])
        except SystemExit as exit_:
            return out.getvalue() if exit_.code == 0 else None
    return None


def _options_used(args: list[str]) -> list[str]:
    return [w.split("=", 1)[0] for w in args if w.startswith("-") and w != "-"]


def twinbench_problems(argv: list[str]) -> list[str]:
    """Options of a `twinbench` command that its subcommand's --help does not list."""
    subcommand = [w for w in argv[1:2] if not w.startswith("-")]
    shown = " ".join(["twinbench", *subcommand, "--help"])
    help_text = twinbench_help(subcommand)
    if help_text is None:
        return [f"no subcommand {subcommand[0]!r} in `twinbench --help`"]
    known = options_in_help(help_text)
    return [f"`{shown}` lists no {o}" for o in _options_used(argv[1:]) if o not in known]


@pytest.fixture(scope="module")
def pytest_bench_options() -> set[str]:
    """Every option `pytest benches --help` lists: pytest's own and the twinbench group's.

    Read from one subprocess: the help of the real plugin as pytest loads it, benchmarks
    not run."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "benches", "--help", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "twinbench" in done.stdout, "the twinbench option group is missing from --help"
    return options_in_help(done.stdout)


def pytest_problems(argv: list[str], known: set[str]) -> list[str]:
    """Options of a `pytest benches` command that `pytest benches --help` does not list."""
    return [
        f"`pytest benches --help` lists no {o}" for o in _options_used(argv[2:]) if o not in known
    ]


@DOCUMENTS
def test_documented_commands_parse(doc: Path, pytest_bench_options: set[str]) -> None:
    """Every option a documented command uses is one its --help lists."""
    problems = []
    for number, argv in documented_commands(doc):
        if os.path.basename(argv[0]) == "twinbench":
            found = twinbench_problems(argv)
        else:
            found = pytest_problems(argv, pytest_bench_options)
        problems += [f"{_doc_id(doc)}:{number}: {shlex.join(argv)}: {p}" for p in found]
    assert problems == []


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs exactly the test command the README's quick start shows."""
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    command = next(line for line in reversed(ci_lines) if line.strip() and not line.startswith("#"))
    _, blocks = _split_fences((ROOT / "README.md").read_text(encoding="utf-8"))
    shown = {line.strip() for block in blocks for _, line in block}
    assert command.strip() in shown
    assert command.strip().endswith("pytest tests")
