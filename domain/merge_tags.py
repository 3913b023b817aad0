"""Merge tags ({{ first_name }}, {{ city | default("there") }}) rendered in Jinja2's sandbox.

A missing value must never leak the raw placeholder into a customer's inbox, so
undefined names raise unless the template gives a default.
"""

from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# Immutable: a template may read the contact but never change the context it is given.
_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class MergeTagError(ValueError):
    pass


def render(template: str, context: dict[str, Any]) -> str:
    try:
        return _env.from_string(template).render(context)
    except UndefinedError as exc:
        raise MergeTagError(f"missing merge value: {exc.message}") from None
    except TemplateSyntaxError as exc:
        raise MergeTagError(f"bad merge tag syntax on line {exc.lineno}: {exc.message}") from None
    except SecurityError as exc:
        raise MergeTagError(f"merge tag not allowed: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        # e.g. {{ first_name + 1 }}: the contact's data does not fit the template.
        raise MergeTagError(f"merge tag failed: {type(exc).__name__}: {exc}") from None


def referenced_names(template: str) -> set[str]:
    """Top-level names a template reads; raises MergeTagError on bad syntax."""
    try:
        return set(meta.find_undeclared_variables(_env.parse(template)))
    except TemplateSyntaxError as exc:
        raise MergeTagError(f"bad merge tag syntax on line {exc.lineno}: {exc.message}") from None


# Always present on every contact (when set); anything else comes from attributes.
CONTACT_FIELDS = frozenset({"contact_id", "email", "phone"})


def referenced_fields(template: str) -> set[str]:
    """Contact fields a template reads, whether written {{ city }} or {{ contact.city }}."""
    try:
        ast = _env.parse(template)
    except TemplateSyntaxError as exc:
        raise MergeTagError(f"bad merge tag syntax on line {exc.lineno}: {exc.message}") from None
    names = set(meta.find_undeclared_variables(ast)) - set(_env.globals)
    via_contact = {node.attr for node in ast.find_all(nodes.Getattr)
                   if isinstance(node.node, nodes.Name) and node.node.name == "contact"}
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
    for node in ast.find_all((nodes.Name, nodes.Getattr)):
        name = _field_of(node)
        if name and id(node) not in defaulted_nodes:
            bare.add(name)
    return guarded - bare


def _field_of(node) -> str | None:
    """The contact field a node reads: `city` or `contact.city` (not `contact` itself)."""
    if isinstance(node, nodes.Name) and node.name != "contact":
        return node.name
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name == "contact":
        return node.attr
    return None


def contact_context(contact_id: str, email: str | None, phone: str | None,
                    attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes are reachable both bare ({{ first_name }}) and as {{ contact.first_name }}."""
    fields = {**attributes, "contact_id": contact_id, "email": email, "phone": phone}
    fields = {k: v for k, v in fields.items() if v is not None}
    return {**fields, "contact": fields}
