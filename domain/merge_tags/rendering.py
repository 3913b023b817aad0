"""Compiling (with the size and time guards) and rendering; check_template applies the
same rules at save and publish."""

from __future__ import annotations

import functools
from collections.abc import Generator
from typing import Any, NamedTuple

from jinja2 import Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.visitor import NodeTransformer

from domain.merge_tags.budget import Budget, active_budget, tick
from domain.merge_tags.checks import unsafe_reasons
from domain.merge_tags.limits import DEFAULT_MAX_CHARS, RENDER_SECONDS, MergeTagError
from domain.merge_tags.sandbox import MERGE_TAG_ENV, as_text, concat, loop_items, parse


class _Guards(NodeTransformer):
    """Rewrites `a ~ b` and `{% for %}` to go through the size and time checks."""

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        parts = [self.visit(part) for part in node.nodes]
        return nodes.Call(
            nodes.ImportedName(f"{concat.__module__}.concat"),
            parts,
            [],
            None,
            None,
            lineno=node.lineno,
        )

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(
            nodes.ImportedName(f"{loop_items.__module__}.loop_items"),
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
    ast = parse(template)
    unsafe = unsafe_reasons(ast)
    if unsafe:
        raise MergeTagError(f"merge tag not allowed: {unsafe[0]}")
    plain = _plain_parts(ast)  # before _Guards, which rewrites the tree in place
    try:
        guarded = _Guards().visit(ast)
        guarded.set_environment(MERGE_TAG_ENV)
        return _Compiled(MERGE_TAG_ENV.from_string(guarded), plain)
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
    token = active_budget.set(Budget(max_seconds))
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
            tick()
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
        active_budget.reset(token)


# Names Jinja's compiler binds itself when a template uses them ({{ self }} is the
# template, not context["self"]): only Jinja's path renders them as Jinja does.
_JINJA_BINDS = frozenset({"self", "super", "loop", "caller", "varargs", "kwargs"})


def _plain_parts(ast: nodes.Template) -> tuple[str, ...] | None:
    """Text and bare names alternating (text first), when the template is nothing but
    text and `{{ name }}`s (most subjects and bodies); None otherwise. Such a template
    renders here without Jinja's per-render context (a mailing renders one per recipient):
    the same text, the same checks (as_text, max_chars) in the same order. A name missing
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
        chunk = as_text(context[part]) if index % 2 else part
        size += len(chunk)
        if size > max_chars:
            raise MergeTagError(
                f"merge tags rendered more than {max_chars} characters, "
                "the most this field sends"
            )
        out.append(chunk)
    return "".join(out)


class TemplateIssue(NamedTuple):
    code: str  # unsafe_merge_tag, too_long
    message: str


def check_template(template: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[TemplateIssue]:
    """Everything the worker would refuse in this template whatever the contact, for a
    field that may render at most `max_chars`. Raises MergeTagError on bad syntax."""
    ast = parse(template)
    issues = [TemplateIssue("unsafe_merge_tag", message) for message in unsafe_reasons(ast)]
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
