"""The one table of event payload schemas, by type string: every event is validated at
the edge through it. Each payload module declares its own part; this module only joins
them, so neither has to import the other."""

from domain.contact_change_payloads import CHANGE_PAYLOAD_SCHEMAS
from domain.event_payloads import CORE_PAYLOAD_SCHEMAS
from domain.payload_base import Payload

PAYLOAD_SCHEMAS: dict[str, type[Payload]] = {**CORE_PAYLOAD_SCHEMAS, **CHANGE_PAYLOAD_SCHEMAS}
