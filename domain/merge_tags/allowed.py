"""What a template may use: the allow-listed filters, tests, globals and methods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import nodes
from jinja2.runtime import LoopContext
from jinja2.tests import TESTS

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
INTERNAL_ATTRIBUTES = frozenset(
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
ATTRIBUTE_ARGUMENT = {
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
STATEMENTS: dict[type[nodes.Node], str] = {
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
    nodes.Include: "include",
    nodes.Extends: "extends",
    nodes.Block: "block",
}


def is_safe_method(owner: Any, name: str) -> bool:
    if isinstance(owner, str):
        return name in _STR_METHODS
    if isinstance(owner, Mapping):
        return name in _DICT_METHODS
    if isinstance(owner, (list, tuple)):
        return name in _LIST_METHODS
    if isinstance(owner, LoopContext):
        return name in _LOOP_METHODS
    return False
