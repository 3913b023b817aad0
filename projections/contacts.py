"""Read side for conditions and message rendering: one contact as a snapshot."""

from sqlalchemy import Connection, select

from domain.conditions import ContactSnapshot
from projections.schema import contact_attributes, contact_tags, contacts


def load_snapshot(conn: Connection, contact_id: str) -> ContactSnapshot | None:
    row = conn.execute(select(contacts).where(contacts.c.contact_id == contact_id)).first()
    if row is None:
        return None
    attributes = {
        r.name: r.value
        for r in conn.execute(
            select(contact_attributes.c.name, contact_attributes.c.value)
            .where(contact_attributes.c.contact_id == contact_id)
        )
        if r.value is not None
    }
    tags = frozenset(conn.execute(
        select(contact_tags.c.tag).where(contact_tags.c.contact_id == contact_id,
                                         contact_tags.c.present.is_(True))
    ).scalars())
    return ContactSnapshot(contact_id=contact_id, email=row.email, phone=row.phone,
                           attributes=attributes, tags=tags, created_at=row.created_at)


def known_fields(conn: Connection) -> set[str]:
    """Attribute names at least one contact has: what merge tags can rely on."""
    return set(conn.execute(select(contact_attributes.c.name).distinct()).scalars())
