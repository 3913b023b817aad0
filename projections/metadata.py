"""The one MetaData every table module declares on, and the bounds they share. A leaf:
the table modules import it, so none of them needs to import another to find it."""

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Every read model is looked up by contact_id first, so each primary key (or index) leads
# with it. NAME is the bound domain.event_payloads puts on the names used as keys.
NAME = 200
