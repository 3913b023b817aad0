"""Which contact fields a template reads, and the context a contact renders with."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes

from domain.merge_tags.limits import MergeTagError
from domain.merge_tags.sandbox import MERGE_TAG_ENV, parse


def referenced_names(template: str) -> set[str]:
    """Top-level names a template reads; raises MergeTagError on bad syntax."""
    return _undeclared(parse(template))


def _undeclared(ast: nodes.Template) -> set[str]:
    try:
        return set(meta.find_undeclared_variables(ast))
    except TemplateSyntaxError as exc:  # e.g. a filter that does not exist
        raise MergeTagError(f"bad merge tag on line {exc.lineno}: {exc.message}") from None


# Always present on every contact (when set); anything else comes from attributes.
CONTACT_FIELDS = frozenset({"contact_id", "email", "phone"})


def referenced_fields(template: str) -> set[str]:
    """Contact fields a template reads, whether written {{ city }} or {{ contact.city }}."""
    ast = parse(template)
    names = _undeclared(ast) - set(MERGE_TAG_ENV.globals)
    via_contact = {
        node.attr
        for node in ast.find_all(nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name == "contact"
    }
    return (names - {"contact"}) | via_contact


def defaulted_fields(template: str) -> set[str]:
    """Fields that every use in the template wraps in default(...), so a contact without
    them still gets a sensible message."""
    ast = MERGE_TAG_ENV.parse(template)
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
