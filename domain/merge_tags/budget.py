"""One render's allowance (a deadline, and how much it may build in all), and the size
checks every value built on the way goes through."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from jinja2.runtime import Undefined

from domain.merge_tags.limits import MAX_BUILD_CHARS, MAX_TOTAL_BUILD_CHARS, MergeTagError


class Budget:
    """One render's allowance: a deadline, and how much it may build in all."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.built = 0


active_budget: ContextVar[Budget | None] = ContextVar("merge_tag_budget", default=None)


def tick() -> None:
    budget = active_budget.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise MergeTagError(
            f"merge tags took longer than {budget.seconds:g} s to render; "
            "simplify the loops in this field"
        )


def too_big(size: int, what: str = "a value") -> MergeTagError:
    unit = "characters" if what == "text" else "characters or items"
    return MergeTagError(
        f"a merge tag would build {what} of {size} {unit}; merge tags may "
        f"build at most {MAX_BUILD_CHARS}"
    )


def check_size(value: Any) -> Any:
    """Refuses a value over MAX_BUILD_CHARS, and counts it against the render's total
    (MAX_TOTAL_BUILD_CHARS), so that many values each under the limit cannot add up."""
    if isinstance(value, (str, list, tuple, dict)):
        if len(value) > MAX_BUILD_CHARS:
            raise too_big(len(value))
        budget = active_budget.get()
        if budget is not None:
            budget.built += len(value)
            if budget.built > MAX_TOTAL_BUILD_CHARS:
                raise MergeTagError(
                    f"merge tags built more than {MAX_TOTAL_BUILD_CHARS} "
                    "characters in all while rendering; simplify this field"
                )
    return value


def is_function(value: Any) -> bool:
    # StrictUndefined is callable (calling it raises); it is a missing value, not a function.
    return callable(value) and not isinstance(value, Undefined)


def printed_size(value: Any, depth: int = 0) -> int:
    """About how many characters str(value) makes, computed without making it (and
    stopping once over MAX_BUILD_CHARS); refuses a function anywhere inside."""
    if is_function(value):
        raise MergeTagError(
            f"a merge tag rendered a function ({describe(value)}), not a value; "
            "call it, e.g. {{ first_name.upper() }}, or use a filter"
        )
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, (list, tuple, set, frozenset, Mapping)):
        if depth > 50:
            return MAX_BUILD_CHARS + 1
        pairs = value.items() if isinstance(value, Mapping) else ((item,) for item in value)
        total = 2
        for pair in pairs:
            for item in pair:
                total += printed_size(item, depth + 1) + 2
            if total > MAX_BUILD_CHARS:
                break
        return total
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    return 32


def describe(function: Any) -> str:
    return getattr(function, "__qualname__", None) or type(function).__name__
