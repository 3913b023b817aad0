"""Human-friendly durations for flow documents ("2d", "1h30m", "90s", "1w" or ISO-8601)."""

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_COMPACT = re.compile(r"^\s*(?:(\d+)\s*([wdhms])\s*)+$")
_PART = re.compile(r"(\d+)\s*([wdhms])")


def parse_duration(value: Any) -> Any:
    """Accept '2d', '1h30m', plain seconds, or leave ISO-8601 strings to pydantic."""
    if isinstance(value, str) and _COMPACT.match(value.lower()):
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(value.lower()))
        try:
            return timedelta(seconds=seconds)
        except OverflowError:
            raise ValueError(f"{value!r} is too long a duration") from None
    return value


def format_duration(value: timedelta) -> str:
    """Inverse of parse_duration, so a stored flow reads like the file it came from."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _whole_non_negative(value: timedelta) -> timedelta:
    # Stored flows are re-read from their compact form, which has whole seconds only.
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    if value.microseconds:
        raise ValueError("durations are whole seconds")
    return value


def _in_our_words(value: Any, handler: ValidatorFunctionWrapHandler) -> timedelta:
    # pydantic's own message ("invalid digit in duration") names no form that works.
    try:
        parsed: timedelta = handler(value)
    except ValidationError as exc:
        if not any(e["type"].startswith("time_delta") for e in exc.errors()):
            raise
        raise PydanticCustomError(
            "time_delta_parsing",
            "{value} is not a duration: give a number and a unit, "
            "e.g. 3h, 2d, 30m, 1h30m (or ISO-8601, e.g. PT3H)",
            {"value": repr(value)},
        ) from None
    return parsed


# Validators run from the last to the first: parse_duration, then ours around pydantic's.
Duration = Annotated[
    timedelta,
    WrapValidator(_in_our_words),
    BeforeValidator(parse_duration),
    AfterValidator(_whole_non_negative),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
