"""Why the sandbox would refuse a template, found without rendering it."""

from __future__ import annotations

from jinja2 import nodes

from domain.merge_tags.allowed import (
    ATTRIBUTE_ARGUMENT,
    INTERNAL_ATTRIBUTES,
    SAFE_FILTERS,
    SAFE_GLOBALS,
    SAFE_METHODS,
    SAFE_TESTS,
    STATEMENTS,
)
from domain.merge_tags.limits import MAX_BUILD_CHARS, MAX_INT_BITS
from domain.merge_tags.sandbox import percent_issue, power_too_big


def unsafe_reasons(ast: nodes.Template) -> list[str]:
    """Why the sandbox would refuse this template, each reason once, in order."""
    found: dict[str, None] = {}
    callees = {id(node.node) for node in ast.find_all(nodes.Call)}

    def refuse(node: nodes.Node, reason: str) -> None:
        found.setdefault(f"line {node.lineno}: {reason}", None)

    for node in ast.find_all(nodes.Node):
        if (statement := STATEMENTS.get(type(node))) is not None:
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
    if name in INTERNAL_ATTRIBUTES:
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
    if name in ATTRIBUTE_ARGUMENT and len(node.args) > ATTRIBUTE_ARGUMENT[name]:
        attribute_args.append(node.args[ATTRIBUTE_ARGUMENT[name]])
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
        if base is not None and exponent is not None and power_too_big(base, exponent):
            return f"{_source(node)} is a number over {MAX_INT_BITS} bits"
    if (
        isinstance(node, nodes.Mod)
        and isinstance(left, nodes.Const)
        and isinstance(left.value, str)
    ):
        return percent_issue(left.value)
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
