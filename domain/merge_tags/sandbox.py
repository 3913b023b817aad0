"""Jinja2's sandbox narrowed to the allow-lists and to bounded work: the guarded
implementations of what could grow without bound, and the one environment every
template is parsed and compiled in."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.runtime import LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS
from jinja2.utils import pass_environment

from domain.merge_tags.allowed import (
    INTERNAL_ATTRIBUTES,
    SAFE_FILTERS,
    SAFE_TESTS,
    is_safe_method,
)
from domain.merge_tags.budget import (
    check_size,
    describe,
    is_function,
    printed_size,
    tick,
    too_big,
)
from domain.merge_tags.limits import (
    MAX_BUILD_CHARS,
    MAX_FORMAT_WIDTH,
    MAX_INT_BITS,
    MAX_RANGE,
    MergeTagError,
)


def _printable(value: Any) -> Any:
    size = printed_size(value)
    if size > MAX_BUILD_CHARS:
        raise too_big(size, "text")
    return value


def _finalize(value: Any) -> Any:
    """Applied to every {{ ... }} before it becomes text."""
    return _printable(value)


def as_text(value: Any) -> str:
    return str(_printable(value))


def concat(*parts: Any) -> str:
    """`a ~ b ~ c`, and every buffered block ({% set %}...{% endset %}, {% filter %}),
    refusing a result over MAX_BUILD_CHARS before building it."""
    texts, total = [], 0
    for part in parts:
        text = as_text(part)
        total += len(text)
        if total > MAX_BUILD_CHARS:
            raise too_big(total, "text")
        texts.append(text)
    return str(check_size("".join(texts)))


def _concat_buffer(parts: Any) -> str:
    return concat(*parts)


def loop_items(iterable: Any) -> Any:
    """What a {% for %} iterates, checking the time budget at every item."""
    if isinstance(iterable, Undefined):
        return iterable  # iterating it raises the usual missing-value error
    return _ticking(iter(iterable))


def _ticking(items: Iterator[Any]) -> Iterator[Any]:
    for item in items:
        tick()
        yield item


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise MergeTagError(
            f"range() of {len(numbers)} numbers; merge tags allow at most {MAX_RANGE}"
        )
    return numbers


def _joined(items: Any, separator: Any) -> str:
    """The join filter: every item printed, separated; refused before it is built."""
    parts = []
    for i, item in enumerate(items):
        parts += [separator, item] if i else [item]
    return concat(*parts)


def _str_join(separator: str, items: Any) -> str:
    """str.join, as Python has it (text items only), refused before it is built."""
    items = list(items)
    size = sum(len(item) for item in items if isinstance(item, str))
    size += len(separator) * max(len(items) - 1, 0)
    if size > MAX_BUILD_CHARS:
        raise too_big(size, "text")
    return separator.join(items)


def _replaced_size(text: str, old: str, new: str, count: int | None) -> int:
    found = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


_PERCENT_SPEC = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)


def percent_issue(template: str) -> str | None:
    for _, width, precision, _ in _PERCENT_SPEC.findall(template):
        for number in (width, precision):
            if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
                return (
                    f"the format {template!r} pads to {number} characters; at most "
                    f"{MAX_FORMAT_WIDTH} are allowed"
                )
    return None


def _percent(template: Any, values: Any) -> str:
    """`'%.2f' % price` and the format filter, without padding to millions of characters
    nor repeating a long value by naming it many times."""
    template = str(template)
    if (issue := percent_issue(template)) is not None:
        raise MergeTagError(issue)
    specs = [(name, kind) for name, _, _, kind in _PERCENT_SPEC.findall(template) if kind != "%"]
    if isinstance(values, Mapping):
        sizes = [printed_size(values[name]) if name in values else 0 for name, _ in specs]
    else:
        items = values if isinstance(values, tuple) else (values,)
        sizes = [printed_size(item) for item in items]
    # %r may escape each character of a string as \xNN, four times its length.
    size = len(template) + sum(4 * n + MAX_FORMAT_WIDTH for n in sizes)
    if size > MAX_BUILD_CHARS:
        raise too_big(size, "text")
    return str(template % values)


def _guard_filter(function: Any) -> Any:
    """A filter that never receives a function, nor a value that would print as more
    than MAX_BUILD_CHARS (most filters print their input first), and never returns an
    oversized value."""
    skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        tick()
        for value in (*args[skip:], *kwargs.values()):
            _printable(value)
        return check_size(function(*args, **kwargs))

    return guarded


@pass_environment
def _join_filter(
    environment: Any, value: Any, d: str = "", attribute: str | int | None = None
) -> str:
    if attribute is not None:
        value = map(make_attrgetter(environment, attribute), value)
    return _joined(value, d)


def _replace_filter(s: Any, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(s), str(old), str(new)
    size = _replaced_size(text, old, new, count)
    if size > MAX_BUILD_CHARS:
        raise too_big(size, "text")
    return text.replace(old, new, -1 if count is None else count)


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    if args and kwargs:
        raise MergeTagError("the format filter takes positional or named values, not both")
    return _percent(value, kwargs or args)


_FILTER_IMPLEMENTATIONS = {
    **{name: FILTERS[name] for name in SAFE_FILTERS},
    "join": _join_filter,
    "replace": _replace_filter,
    "format": _format_filter,
}


class _MergeTagEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, narrowed to the allow-lists above and to bounded work."""

    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=_finalize,
        )
        self.globals = {"range": _range, "dict": dict}
        self.filters = {name: _guard_filter(f) for name, f in _FILTER_IMPLEMENTATIONS.items()}
        self.tests = {name: TESTS[name] for name in SAFE_TESTS}
        self.concat = _concat_buffer  # type: ignore[method-assign]  # joins what {% set %} and {% filter %} blocks buffer
        self._callable = {id(f) for f in (_range, dict, concat, loop_items)}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value) or attr in INTERNAL_ATTRIBUTES:
            return False
        return not is_function(value) or is_safe_method(obj, attr)

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is refused outright (is_safe_attribute), not wrapped

    def getattr(self, obj: Any, attribute: str) -> Any:
        tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        tick()
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 -- as the sandbox names them
        tick()
        if id(__obj) not in __self._callable and not isinstance(__obj, LoopContext):
            owner, name = getattr(__obj, "__self__", None), getattr(__obj, "__name__", None)
            if owner is None or name is None or not is_safe_method(owner, name):
                raise SecurityError(f"{describe(__obj)}() cannot be called from a merge tag")
            if isinstance(owner, str) and name == "join" and args:
                return check_size(_str_join(owner, args[0]))
            if isinstance(owner, str) and name == "replace" and len(args) >= 2:
                count = args[2] if len(args) > 2 else kwargs.get("count")
                size = _replaced_size(owner, str(args[0]), str(args[1]), count)
                if size > MAX_BUILD_CHARS:
                    raise too_big(size, "text")
        return check_size(__context.call(__obj, *args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        tick()
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                    if len(sequence) * times > MAX_BUILD_CHARS:
                        raise too_big(len(sequence) * times)
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and (left.bit_length() + right.bit_length() > MAX_INT_BITS)
            ):
                raise MergeTagError(f"a merge tag would build a number over {MAX_INT_BITS} bits")
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                if len(left) + len(right) > MAX_BUILD_CHARS:
                    raise too_big(len(left) + len(right))
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and power_too_big(left, right):
                raise MergeTagError(f"{left} ** {right} is over {MAX_INT_BITS} bits")
        elif operator == "%" and isinstance(left, str):
            return check_size(_percent(left, right))
        return check_size(self.binop_table[operator](left, right))


def power_too_big(base: int, exponent: int) -> bool:
    return exponent > 0 and abs(base) > 1 and exponent * abs(base).bit_length() > MAX_INT_BITS


# Immutable: a template may read the contact but never change the context it is given.
MERGE_TAG_ENV = _MergeTagEnvironment()


def parse(template: str) -> nodes.Template:
    try:
        return MERGE_TAG_ENV.parse(template)
    except TemplateSyntaxError as exc:
        raise MergeTagError(f"bad merge tag syntax on line {exc.lineno}: {exc.message}") from None
