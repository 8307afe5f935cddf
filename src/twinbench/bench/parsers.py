"""Typed parsers of option values: a bad value is a usage error that lists the valid ones.

Shared by pytest's option parser and the console script's argparse (pytest-benchmark style).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence

from twinbench.core.cases import DEFAULT_VARIANTS, VARIANTS


def choice_list(valid: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """Parser for a comma-separated subset of `valid`; an unknown value lists the valid ones."""

    def parse(text: str) -> tuple[str, ...]:
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        unknown = [v for v in values if v not in valid]
        if unknown or not values:
            shown = ", ".join(unknown) if unknown else repr(text)
            raise argparse.ArgumentTypeError(
                f"invalid value {shown}; choose from: {', '.join(valid)} (comma-separated)"
            )
        return tuple(dict.fromkeys(values))  # drop repeats, keep order

    parse.__name__ = "list"  # argparse names the type in some messages
    return parse


def name_list(text: str) -> tuple[str, ...]:
    """Parser for comma-separated model names; which exist is known once user twins are
    registered (conftest.py hooks), so `resolve_options` checks them."""
    values = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    malformed = [v for v in values if not re.fullmatch(r"[a-z][a-z0-9_]*", v)]
    if malformed or not values:
        shown = ", ".join(malformed) if malformed else repr(text)
        raise argparse.ArgumentTypeError(
            f"invalid value {shown}; expected model names (lower-case letters, digits, '_'), "
            "comma-separated"
        )
    return values


name_list.__name__ = "list"

# Names that stand for several variants in --variants.
VARIANT_KEYWORDS: dict[str, tuple[str, ...]] = {"default": DEFAULT_VARIANTS, "all": VARIANTS}


def variant_list(text: str) -> tuple[str, ...]:
    """Parser for --variants: `default`, `all`, or variant names, comma-separated."""
    names = choice_list((*VARIANT_KEYWORDS, *VARIANTS))(text)
    expanded = [v for name in names for v in VARIANT_KEYWORDS.get(name, (name,))]
    return tuple(dict.fromkeys(expanded))


variant_list.__name__ = "list"


def batch_size_list(text: str) -> tuple[int, ...]:
    """Parser for comma-separated positive batch sizes, e.g. ``1,32,256``."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}; expected positive integers, comma-separated, e.g. 1,32,256"
        )
    return tuple(dict.fromkeys(values))


def positive_int(text: str) -> int:
    """Parser for a positive integer."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}; expected a positive integer")
    return value


def non_negative_int(text: str) -> int:
    """Parser for an integer of 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid value {text!r}; expected an integer >= 0")
    return int(text)


def case_threshold(text: str) -> tuple[str, float]:
    """Parser for PATTERN=RATIO, e.g. ``*-b1=1.25`` (glob on case ids)."""
    pattern, _, value = text.rpartition("=")
    try:
        ratio = float(value)
    except ValueError:
        ratio = 0.0
    if not pattern or ratio <= 1.0:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}; expected PATTERN=RATIO with RATIO > 1, e.g. '*-b1=1.25'"
        )
    return pattern, ratio


def threshold_ratio(text: str) -> float:
    """Parser for a slowdown ratio above 1, e.g. 1.10."""
    try:
        ratio = float(text)
    except ValueError:
        ratio = 0.0
    if ratio <= 1.0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}; expected a ratio > 1, e.g. 1.10")
    return ratio
