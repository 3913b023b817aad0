"""Merge tags ({{ first_name }}, {{ city | default("there") }}) rendered in Jinja2's sandbox.

A missing value must never leak the raw placeholder into a customer's inbox, so
undefined names raise unless the template gives a default.

Templates are written by marketers, not by us, so they get a small language:

* Only allow-listed filters, tests, globals (`range`, `dict`) and methods (string case
  and search methods, `dict.get/items/keys/values`, `loop.cycle/changed`); no macros,
  includes or imports; no attribute starting with `_`; no `str.format`.
* Nothing callable is ever printed: `{{ ''.upper }}` is an error, not
  `<built-in method upper ...>`.
* Nothing grows without bound: `*`, `+`, `**`, `%`, `~`, `join` and `replace` refuse a
  result over MAX_BUILD_CHARS before building it; the rendered text is capped per field
  (subject, SMS text, body, webhook body) and rendering time is capped too.

`check_template` applies the same rules without rendering, so validation refuses at save
and publish whatever the worker would refuse when the step runs; every render applies
them again (a flow published before a rule existed is still held to it). Every refusal
is a MergeTagError with a message that says what to change.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Generator, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, NamedTuple

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.runtime import LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS
from jinja2.utils import pass_environment
from jinja2.visitor import NodeTransformer


class MergeTagError(ValueError):
    pass


# Rendered output, per field: an email subject line (RFC 5322 caps a line at 998
# characters), an SMS (10 segments of 160), an email or note body, a webhook body.
SUBJECT_MAX_CHARS = 998
SMS_TEXT_MAX_CHARS = 1600
BODY_MAX_CHARS = 512 * 1024
WEBHOOK_BODY_MAX_CHARS = 256 * 1024
URL_MAX_CHARS = 8 * 1024  # webhook URL and each header value
DEFAULT_MAX_CHARS = BODY_MAX_CHARS

# Any one value a template builds on the way (a string, a list): large enough for any
# real message, small enough that building it cannot hurt the worker.
MAX_BUILD_CHARS = BODY_MAX_CHARS
MAX_TOTAL_BUILD_CHARS = 16 * MAX_BUILD_CHARS  # everything one render builds, together
MAX_RANGE = 10_000
MAX_INT_BITS = 4096
MAX_FORMAT_WIDTH = 100
RENDER_SECONDS = 2.0

_FIELD_LIMITS = {
    ("send_email", "subject"): SUBJECT_MAX_CHARS,
    ("send_email", "body"): BODY_MAX_CHARS,
    ("send_sms", "text"): SMS_TEXT_MAX_CHARS,
    ("notify_team", "subject"): SUBJECT_MAX_CHARS,
    ("notify_team", "message"): BODY_MAX_CHARS,
    ("webhook", "url"): URL_MAX_CHARS,
    ("webhook", "body"): WEBHOOK_BODY_MAX_CHARS,
}


def max_chars_for(kind: str, field: str, channel: str | None = None) -> int:
    """The most characters a step's field may render to (a render() `max_chars`)."""
    if kind == "notify_team" and field == "message" and channel == "sms":
        return SMS_TEXT_MAX_CHARS
    if kind == "webhook" and field.startswith("headers."):
        return URL_MAX_CHARS
    return _FIELD_LIMITS.get((kind, field), DEFAULT_MAX_CHARS)


# --- what a template may use --------------------------------------------------------

SAFE_FILTERS = frozenset(
    {
        "abs",
        "attr",
        "capitalize",
        "count",
        "d",
        "default",
        "dictsort",
        "e",
        "escape",
        "first",
        "float",
        "format",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "select",
        "selectattr",
        "sort",
        "string",
        "sum",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "wordcount",
    }
)
SAFE_TESTS = frozenset(TESTS) - {"callable", "filter", "test"}
SAFE_GLOBALS = ("range", "dict")
_STR_METHODS = frozenset(
    {
        "upper",
        "lower",
        "title",
        "capitalize",
        "swapcase",
        "casefold",
        "strip",
        "lstrip",
        "rstrip",
        "split",
        "rsplit",
        "splitlines",
        "partition",
        "rpartition",
        "startswith",
        "endswith",
        "find",
        "rfind",
        "count",
        "replace",
        "join",
        "removeprefix",
        "removesuffix",
        "isdigit",
        "isalpha",
        "isalnum",
        "isnumeric",
        "isdecimal",
        "isspace",
        "islower",
        "isupper",
        "istitle",
    }
)
_DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_LIST_METHODS = frozenset({"index", "count"})
_LOOP_METHODS = frozenset({"cycle", "changed"})
SAFE_METHODS = _STR_METHODS | _DICT_METHODS | _LIST_METHODS | _LOOP_METHODS
# Attributes the sandbox refuses whatever the object (besides any starting with "_").
_INTERNAL_ATTRIBUTES = frozenset(
    {
        "mro",
        "format",
        "format_map",
        "gi_frame",
        "gi_code",
        "cr_frame",
        "cr_code",
        "ag_code",
        "ag_frame",
    }
)
# Filters taking an attribute name, and its position among their arguments.
_ATTRIBUTE_ARGUMENT = {
    "attr": 0,
    "selectattr": 0,
    "rejectattr": 0,
    "sum": 0,
    "join": 1,
    "min": 1,
    "max": 1,
    "unique": 1,
    "sort": 2,
}
_STATEMENTS: dict[type[nodes.Node], str] = {
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
    nodes.Include: "include",
    nodes.Extends: "extends",
    nodes.Block: "block",
}


def _is_safe_method(owner: Any, name: str) -> bool:
    if isinstance(owner, str):
        return name in _STR_METHODS
    if isinstance(owner, Mapping):
        return name in _DICT_METHODS
    if isinstance(owner, (list, tuple)):
        return name in _LIST_METHODS
    if isinstance(owner, LoopContext):
        return name in _LOOP_METHODS
    return False


# --- limits while rendering ---------------------------------------------------------


class _Budget:
    """One render's allowance: a deadline, and how much it may build in all."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.built = 0


_budget: ContextVar[_Budget | None] = ContextVar("merge_tag_budget", default=None)


def _tick() -> None:
    budget = _budget.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise MergeTagError(
            f"merge tags took longer than {budget.seconds:g} s to render; "
            "simplify the loops in this field"
        )


def _too_big(size: int, what: str = "a value") -> MergeTagError:
    unit = "characters" if what == "text" else "characters or items"
    return MergeTagError(
        f"a merge tag would build {what} of {size} {unit}; merge tags may "
        f"build at most {MAX_BUILD_CHARS}"
    )


def _check_size(value: Any) -> Any:
    """Refuses a value over MAX_BUILD_CHARS, and counts it against the render's total
    (MAX_TOTAL_BUILD_CHARS), so that many values each under the limit cannot add up."""
    if isinstance(value, (str, list, tuple, dict)):
        if len(value) > MAX_BUILD_CHARS:
            raise _too_big(len(value))
        budget = _budget.get()
        if budget is not None:
            budget.built += len(value)
            if budget.built > MAX_TOTAL_BUILD_CHARS:
                raise MergeTagError(
                    f"merge tags built more than {MAX_TOTAL_BUILD_CHARS} "
                    "characters in all while rendering; simplify this field"
                )
    return value


def _is_function(value: Any) -> bool:
    # StrictUndefined is callable (calling it raises); it is a missing value, not a function.
    return callable(value) and not isinstance(value, Undefined)


def _printed_size(value: Any, depth: int = 0) -> int:
    """About how many characters str(value) makes, computed without making it (and
    stopping once over MAX_BUILD_CHARS); refuses a function anywhere inside."""
    if _is_function(value):
        raise MergeTagError(
            f"a merge tag rendered a function ({_describe(value)}), not a value; "
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
                total += _printed_size(item, depth + 1) + 2
            if total > MAX_BUILD_CHARS:
                break
        return total
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    return 32


def _printable(value: Any) -> Any:
    size = _printed_size(value)
    if size > MAX_BUILD_CHARS:
        raise _too_big(size, "text")
    return value


def _describe(function: Any) -> str:
    return getattr(function, "__qualname__", None) or type(function).__name__


def _finalize(value: Any) -> Any:
    """Applied to every {{ ... }} before it becomes text."""
    return _printable(value)


def _text(value: Any) -> str:
    return str(_printable(value))


def _concat(*parts: Any) -> str:
    """`a ~ b ~ c`, and every buffered block ({% set %}...{% endset %}, {% filter %}),
    refusing a result over MAX_BUILD_CHARS before building it."""
    texts, total = [], 0
    for part in parts:
        text = _text(part)
        total += len(text)
        if total > MAX_BUILD_CHARS:
            raise _too_big(total, "text")
        texts.append(text)
    return str(_check_size("".join(texts)))


def _concat_buffer(parts: Any) -> str:
    return _concat(*parts)


def _loop_items(iterable: Any) -> Any:
    """What a {% for %} iterates, checking the time budget at every item."""
    if isinstance(iterable, Undefined):
        return iterable  # iterating it raises the usual missing-value error
    return _ticking(iter(iterable))


def _ticking(items: Iterator[Any]) -> Iterator[Any]:
    for item in items:
        _tick()
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
    return _concat(*parts)


def _str_join(separator: str, items: Any) -> str:
    """str.join, as Python has it (text items only), refused before it is built."""
    items = list(items)
    size = sum(len(item) for item in items if isinstance(item, str))
    size += len(separator) * max(len(items) - 1, 0)
    if size > MAX_BUILD_CHARS:
        raise _too_big(size, "text")
    return separator.join(items)


def _replaced_size(text: str, old: str, new: str, count: int | None) -> int:
    found = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


_PERCENT_SPEC = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)


def _percent_issue(template: str) -> str | None:
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
    if (issue := _percent_issue(template)) is not None:
        raise MergeTagError(issue)
    specs = [(name, kind) for name, _, _, kind in _PERCENT_SPEC.findall(template) if kind != "%"]
    if isinstance(values, Mapping):
        sizes = [_printed_size(values[name]) if name in values else 0 for name, _ in specs]
    else:
        items = values if isinstance(values, tuple) else (values,)
        sizes = [_printed_size(item) for item in items]
    # %r may escape each character of a string as \xNN, four times its length.
    size = len(template) + sum(4 * n + MAX_FORMAT_WIDTH for n in sizes)
    if size > MAX_BUILD_CHARS:
        raise _too_big(size, "text")
    return str(template % values)


def _guard_filter(function: Any) -> Any:
    """A filter that never receives a function, nor a value that would print as more
    than MAX_BUILD_CHARS (most filters print their input first), and never returns an
    oversized value."""
    skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        for value in (*args[skip:], *kwargs.values()):
            _printable(value)
        return _check_size(function(*args, **kwargs))

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
        raise _too_big(size, "text")
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
        self._callable = {id(f) for f in (_range, dict, _concat, _loop_items)}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value) or attr in _INTERNAL_ATTRIBUTES:
            return False
        return not _is_function(value) or _is_safe_method(obj, attr)

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is refused outright (is_safe_attribute), not wrapped

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 -- as the sandbox names them
        _tick()
        if id(__obj) not in __self._callable and not isinstance(__obj, LoopContext):
            owner, name = getattr(__obj, "__self__", None), getattr(__obj, "__name__", None)
            if owner is None or name is None or not _is_safe_method(owner, name):
                raise SecurityError(f"{_describe(__obj)}() cannot be called from a merge tag")
            if isinstance(owner, str) and name == "join" and args:
                return _check_size(_str_join(owner, args[0]))
            if isinstance(owner, str) and name == "replace" and len(args) >= 2:
                count = args[2] if len(args) > 2 else kwargs.get("count")
                size = _replaced_size(owner, str(args[0]), str(args[1]), count)
                if size > MAX_BUILD_CHARS:
                    raise _too_big(size, "text")
        return _check_size(__context.call(__obj, *args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                    if len(sequence) * times > MAX_BUILD_CHARS:
                        raise _too_big(len(sequence) * times)
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and (left.bit_length() + right.bit_length() > MAX_INT_BITS)
            ):
                raise MergeTagError(f"a merge tag would build a number over {MAX_INT_BITS} bits")
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                if len(left) + len(right) > MAX_BUILD_CHARS:
                    raise _too_big(len(left) + len(right))
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and _power_too_big(left, right):
                raise MergeTagError(f"{left} ** {right} is over {MAX_INT_BITS} bits")
        elif operator == "%" and isinstance(left, str):
            return _check_size(_percent(left, right))
        return _check_size(self.binop_table[operator](left, right))


def _power_too_big(base: int, exponent: int) -> bool:
    return exponent > 0 and abs(base) > 1 and exponent * abs(base).bit_length() > MAX_INT_BITS


# Immutable: a template may read the contact but never change the context it is given.
_env = _MergeTagEnvironment()


# --- the same rules, without rendering ----------------------------------------------


class TemplateIssue(NamedTuple):
    code: str  # unsafe_merge_tag, too_long
    message: str


def check_template(template: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[TemplateIssue]:
    """Everything the worker would refuse in this template whatever the contact, for a
    field that may render at most `max_chars`. Raises MergeTagError on bad syntax."""
    ast = _parse(template)
    issues = [TemplateIssue("unsafe_merge_tag", message) for message in _unsafe(ast)]
    literal = sum(len(node.data) for node in ast.find_all(nodes.TemplateData))
    if literal > max_chars:
        issues.append(
            TemplateIssue(
                "too_long",
                (
                    f"the text is {literal} characters before its merge tags are filled in; "
                    f"this field sends at most {max_chars}"
                ),
            )
        )
    if not issues:
        _compile(template)  # what only the compiler finds (raises MergeTagError)
    return issues


def _unsafe(ast: nodes.Template) -> list[str]:
    """Why the sandbox would refuse this template, each reason once, in order."""
    found: dict[str, None] = {}
    callees = {id(node.node) for node in ast.find_all(nodes.Call)}

    def refuse(node: nodes.Node, reason: str) -> None:
        found.setdefault(f"line {node.lineno}: {reason}", None)

    for node in ast.find_all(nodes.Node):
        if (statement := _STATEMENTS.get(type(node))) is not None:
            refuse(node, f"{{% {statement} %}} is not allowed in merge tags")
        elif isinstance(node, nodes.Getattr):
            if reason := _attribute_issue(node.attr):
                refuse(node, reason)
            elif (
                id(node) not in callees
                and (kind := _static_type(node.node)) is not None
                and callable(getattr(kind, node.attr, None))
            ):
                refuse(
                    node,
                    f"{_source(node)} is a function of {kind.__name__}; a merge tag "
                    f"must not print a function (call it: {_source(node)}(...))",
                )
        elif isinstance(node, nodes.Getitem):
            if (
                isinstance(node.arg, nodes.Const)
                and isinstance(node.arg.value, str)
                and (reason := _attribute_issue(node.arg.value, only_private=True))
            ):
                refuse(node, reason)
        elif isinstance(node, nodes.Call):
            if reason := _call_issue(node.node):
                refuse(node, reason)
        elif isinstance(node, nodes.Filter):
            for reason in _filter_issues(node):
                refuse(node, reason)
        elif isinstance(node, nodes.Test):
            if node.name not in SAFE_TESTS:
                refuse(node, f"test {node.name!r} is not allowed in merge tags")
        elif isinstance(node, (nodes.Mul, nodes.Pow, nodes.Mod)):
            if reason := _operator_issue(node):
                refuse(node, reason)
    return list(found)


def _attribute_issue(name: str, only_private: bool = False) -> str | None:
    if name.startswith("_"):
        return f"{name!r} is internal: names starting with '_' are not allowed in merge tags"
    if only_private:
        return None
    if name in ("format", "format_map"):
        return (
            f"{name!r} is not allowed in merge tags; join text with ~, or use the format "
            "filter: {{ '%.2f' | format(price) }}"
        )
    if name in _INTERNAL_ATTRIBUTES:
        return f"{name!r} is internal and not allowed in merge tags"
    return None


def _call_issue(callee: nodes.Node) -> str | None:
    if isinstance(callee, nodes.Name) and callee.name in (*SAFE_GLOBALS, "loop"):
        return None
    if isinstance(callee, nodes.Getattr) and callee.attr in SAFE_METHODS:
        return None
    if isinstance(callee, nodes.Getattr) and _attribute_issue(callee.attr):
        return None  # reported once, as the attribute
    return (
        f"calling {_source(callee)}(...) is not allowed in merge tags; use a filter, "
        "range(), dict(), a string method such as upper() or split(), or get() on a dict"
    )


def _filter_issues(node: nodes.Filter) -> list[str]:
    name = node.name
    if name not in SAFE_FILTERS:
        return [
            f"filter {name!r} is not allowed in merge tags; allowed: {', '.join(sorted(SAFE_FILTERS))}"
        ]
    issues = []
    attribute_args = [kw.value for kw in node.kwargs if kw.key == "attribute"]
    if name in _ATTRIBUTE_ARGUMENT and len(node.args) > _ATTRIBUTE_ARGUMENT[name]:
        attribute_args.append(node.args[_ATTRIBUTE_ARGUMENT[name]])
    for arg in attribute_args:
        if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
            for part in arg.value.split("."):
                if reason := _attribute_issue(part, only_private=name != "attr"):
                    issues.append(f"filter {name!r}: {reason}")
        elif name == "attr":
            issues.append("the attr filter needs a literal attribute name, e.g. attr('city')")
    named = node.args[0] if node.args and isinstance(node.args[0], nodes.Const) else None
    if name == "map" and named is not None and named.value not in SAFE_FILTERS:
        issues.append(f"filter {named.value!r} (in map) is not allowed in merge tags")
    if name in ("select", "reject") and named is not None and named.value not in SAFE_TESTS:
        issues.append(f"test {named.value!r} (in {name}) is not allowed in merge tags")
    if (
        name in ("selectattr", "rejectattr")
        and len(node.args) > 1
        and isinstance(node.args[1], nodes.Const)
        and node.args[1].value not in SAFE_TESTS
    ):
        issues.append(f"test {node.args[1].value!r} (in {name}) is not allowed in merge tags")
    return issues


def _operator_issue(node: nodes.BinExpr) -> str | None:
    left, right = node.left, node.right
    if isinstance(node, nodes.Mul):
        for sequence, times in ((left, right), (right, left)):
            size, count = _literal_length(sequence), _literal_int(times)
            if size is not None and count is not None and size * count > MAX_BUILD_CHARS:
                return (
                    f"{_source(node)} would build {size * count} characters; "
                    f"merge tags may build at most {MAX_BUILD_CHARS}"
                )
    if isinstance(node, nodes.Pow):
        base, exponent = _literal_int(left), _literal_int(right)
        if base is not None and exponent is not None and _power_too_big(base, exponent):
            return f"{_source(node)} is a number over {MAX_INT_BITS} bits"
    if (
        isinstance(node, nodes.Mod)
        and isinstance(left, nodes.Const)
        and isinstance(left.value, str)
    ):
        return _percent_issue(left.value)
    return None


def _literal_length(node: nodes.Node) -> int | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return len(node.value)
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return len(node.items)
    return None


def _literal_int(node: nodes.Node) -> int | None:
    if isinstance(node, nodes.Const) and type(node.value) is int:
        return node.value
    return None


def _static_type(node: nodes.Node) -> type | None:
    """The type a node certainly has, where that is known without a contact."""
    if isinstance(node, nodes.Const) and node.value is not None:
        return type(node.value)
    if isinstance(node, nodes.Concat):
        return str
    if isinstance(node, (nodes.List, nodes.Tuple, nodes.Dict)):
        return {nodes.List: list, nodes.Tuple: tuple, nodes.Dict: dict}[type(node)]
    if isinstance(node, nodes.Name) and node.name == "contact":
        return dict
    return None


def _source(node: nodes.Node) -> str:
    """A short rendering of an expression, for messages."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_source(node.node)}.{node.attr}"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    if isinstance(node, nodes.Call):
        return f"{_source(node.node)}(...)"
    if isinstance(node, nodes.Getitem):
        return f"{_source(node.node)}[{_source(node.arg)}]"
    if isinstance(node, nodes.BinExpr):
        return f"{_source(node.left)} {node.operator} {_source(node.right)}"
    return "an expression"


# --- compiling and rendering --------------------------------------------------------


def _parse(template: str) -> nodes.Template:
    try:
        return _env.parse(template)
    except TemplateSyntaxError as exc:
        raise MergeTagError(f"bad merge tag syntax on line {exc.lineno}: {exc.message}") from None


class _Guards(NodeTransformer):
    """Rewrites `a ~ b` and `{% for %}` to go through the size and time checks."""

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        parts = [self.visit(part) for part in node.nodes]
        return nodes.Call(
            nodes.ImportedName(f"{__name__}._concat"), parts, [], None, None, lineno=node.lineno
        )

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(
            nodes.ImportedName(f"{__name__}._loop_items"),
            [node.iter],
            [],
            None,
            None,
            lineno=node.lineno,
        )
        return node


class _Compiled(NamedTuple):
    jinja: Template
    plain: tuple[str, ...] | None  # see _plain_parts


@functools.lru_cache(maxsize=64)
def _compile(template: str) -> _Compiled:
    ast = _parse(template)
    unsafe = _unsafe(ast)
    if unsafe:
        raise MergeTagError(f"merge tag not allowed: {unsafe[0]}")
    plain = _plain_parts(ast)  # before _Guards, which rewrites the tree in place
    try:
        guarded = _Guards().visit(ast)
        guarded.set_environment(_env)
        return _Compiled(_env.from_string(guarded), plain)
    except TemplateSyntaxError as exc:
        raise MergeTagError(f"bad merge tag on line {exc.lineno}: {exc.message}") from None


def render(
    template: str,
    context: dict[str, Any],
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_seconds: float = RENDER_SECONDS,
) -> str:
    """The template filled in from `context`. `max_chars`: the most this field may send
    (see max_chars_for); going over, or rendering for longer than `max_seconds`, raises
    MergeTagError instead of returning the text."""
    compiled, plain = _compile(template)
    if plain is not None and all(name in context for name in plain[1::2]):
        return _render_plain(plain, context, max_chars)
    token = _budget.set(_Budget(max_seconds))
    chunks: Generator[str, None, None] = compiled.generate(context)  # type: ignore[assignment]
    try:
        out, size = [], 0
        for chunk in chunks:
            size += len(chunk)
            if size > max_chars:
                raise MergeTagError(
                    f"merge tags rendered more than {max_chars} characters, "
                    "the most this field sends"
                )
            _tick()
            out.append(chunk)
        return "".join(out)
    except MergeTagError:
        raise
    except UndefinedError as exc:
        raise MergeTagError(f"missing merge value: {exc.message}") from None
    except TemplateSyntaxError as exc:
        raise MergeTagError(f"bad merge tag syntax on line {exc.lineno}: {exc.message}") from None
    except SecurityError as exc:
        raise MergeTagError(f"merge tag not allowed: {exc}") from None
    except (
        TypeError,
        ValueError,
        ArithmeticError,
        LookupError,
        RecursionError,
        MemoryError,
    ) as exc:
        # e.g. {{ first_name + 1 }}: the contact's data does not fit the template.
        raise MergeTagError(f"merge tag failed: {type(exc).__name__}: {exc}") from None
    finally:
        chunks.close()
        _budget.reset(token)


# Names Jinja's compiler binds itself when a template uses them ({{ self }} is the
# template, not context["self"]): only Jinja's path renders them as Jinja does.
_JINJA_BINDS = frozenset({"self", "super", "loop", "caller", "varargs", "kwargs"})


def _plain_parts(ast: nodes.Template) -> tuple[str, ...] | None:
    """Text and bare names alternating (text first), when the template is nothing but
    text and `{{ name }}`s (most subjects and bodies); None otherwise. Such a template
    renders here without Jinja's per-render context (a mailing renders one per recipient):
    the same text, the same checks (_text, max_chars) in the same order. A name missing
    from the context takes Jinja's path, which words the error."""
    parts: list[str] = [""]
    for node in ast.body:
        if not isinstance(node, nodes.Output):
            return None
        for part in node.nodes:
            if isinstance(part, nodes.TemplateData):
                parts[-1] += part.data
            elif (
                isinstance(part, nodes.Name)
                and part.ctx == "load"
                and part.name not in _JINJA_BINDS
            ):
                parts += [part.name, ""]
            else:
                return None
    return tuple(parts)


def _render_plain(parts: tuple[str, ...], context: dict[str, Any], max_chars: int) -> str:
    out, size = [], 0
    for index, part in enumerate(parts):
        chunk = _text(context[part]) if index % 2 else part
        size += len(chunk)
        if size > max_chars:
            raise MergeTagError(
                f"merge tags rendered more than {max_chars} characters, "
                "the most this field sends"
            )
        out.append(chunk)
    return "".join(out)


def referenced_names(template: str) -> set[str]:
    """Top-level names a template reads; raises MergeTagError on bad syntax."""
    return _undeclared(_parse(template))


def _undeclared(ast: nodes.Template) -> set[str]:
    try:
        return set(meta.find_undeclared_variables(ast))
    except TemplateSyntaxError as exc:  # e.g. a filter that does not exist
        raise MergeTagError(f"bad merge tag on line {exc.lineno}: {exc.message}") from None


# Always present on every contact (when set); anything else comes from attributes.
CONTACT_FIELDS = frozenset({"contact_id", "email", "phone"})


def referenced_fields(template: str) -> set[str]:
    """Contact fields a template reads, whether written {{ city }} or {{ contact.city }}."""
    ast = _parse(template)
    names = _undeclared(ast) - set(_env.globals)
    via_contact = {
        node.attr
        for node in ast.find_all(nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name == "contact"
    }
    return (names - {"contact"}) | via_contact


def defaulted_fields(template: str) -> set[str]:
    """Fields that every use in the template wraps in default(...), so a contact without
    them still gets a sensible message."""
    ast = _env.parse(template)
    guarded, bare = set(), set()
    defaulted_nodes = set()
    for node in ast.find_all(nodes.Filter):
        if node.name in ("default", "d") and (name := _field_of(node.node)):
            guarded.add(name)
            defaulted_nodes.add(id(node.node))
    for read in ast.find_all((nodes.Name, nodes.Getattr)):
        name = _field_of(read)
        if name and id(read) not in defaulted_nodes:
            bare.add(name)
    return guarded - bare


def _field_of(node: nodes.Node | None) -> str | None:
    """The contact field a node reads: `city` or `contact.city` (not `contact` itself)."""
    if isinstance(node, nodes.Name) and node.name != "contact":
        return node.name
    if (
        isinstance(node, nodes.Getattr)
        and isinstance(node.node, nodes.Name)
        and node.node.name == "contact"
    ):
        return node.attr
    return None


def contact_context(
    contact_id: str, email: str | None, phone: str | None, attributes: dict[str, Any]
) -> dict[str, Any]:
    """Attributes are reachable both bare ({{ first_name }}) and as {{ contact.first_name }}."""
    fields = {**attributes, "contact_id": contact_id, "email": email, "phone": phone}
    fields = {k: v for k, v in fields.items() if v is not None}
    return {**fields, "contact": fields}
