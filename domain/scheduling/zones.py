"""Which time zone a contact lives in: their own attribute, else their phone number, else
the flow's or the system's default [003]."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezones

from domain.contact_facts import ContactSnapshot

# phonenumbers loads each region's metadata on first use, by importing a module while
# holding a lock it never releases if that import fails. Inside Temporal's workflow sandbox
# such an import is re-run under the sandbox's restrictions and fails, leaving the lock
# held and the worker deadlocked. Loading everything now, when the worker imports this
# module (passed through, as workflows import domain), takes ~0.2s once and means no
# import ever happens during a workflow task.
phonenumbers.PhoneMetadata.load_all()


class ZoneSource(StrEnum):
    ATTRIBUTE = "attribute"
    PHONE = "phone"
    FLOW = "flow"
    DEFAULT = "default"


@dataclass(frozen=True)
class Zones:
    """The deployment's defaults for contacts without a zone of their own (settings)."""

    default_zone: str = "UTC"
    default_region: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Zones:
        """From the deployment's Settings (not imported: domain stays free of config)."""
        return cls(settings.default_time_zone, settings.phone_default_region)


class ResolvedZone(NamedTuple):
    zone: ZoneInfo
    source: ZoneSource


@lru_cache(maxsize=1)
def _iana_names() -> dict[str, str]:
    # The list shipped with the pinned `tzdata` package, not whatever the host has under
    # /usr/share/zoneinfo: names such as "localtime" exist on some hosts only (and mean a
    # different zone on each), which would make a replay on another worker diverge.
    # Keyed by lower case so that "europe/berlin" from a CRM still resolves.
    text = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return {name.lower(): name for name in text.split()}


_iana_names()  # read at import too, so the first lookup never happens in a workflow task


def zone_named(name: str | None) -> ZoneInfo | None:
    """The zone for an IANA name (case-insensitive, surrounding blanks ignored), or None
    when the name is empty or not an IANA zone."""
    if not name:
        return None
    canonical = _iana_names().get(name.strip().lower())
    return ZoneInfo(canonical) if canonical is not None else None


def zone_for_phone(phone: str | None, default_region: str | None = None) -> ZoneInfo | None:
    """The zone of a phone number, only when phonenumbers maps it to exactly one zone.

    A number that does not parse, is not a valid number, or spans several zones (a US
    toll-free number, an area code split between Mountain and Central time) gives None:
    guessing would send at 3am to part of the audience. `default_region` (e.g. "US") reads
    numbers stored without a +country prefix."""
    if not phone or not phone.strip():
        return None
    try:
        number = phonenumbers.parse(phone, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    zones = phone_timezones.time_zones_for_number(number)
    # "Etc/Unknown" is how the library says it has no idea; zone_named rejects it too.
    return _one_clock(tuple(zones))


# Fixed instants (twice a month, 2000-2059), so the answer never depends on when it is asked.
_SAMPLES = tuple(
    datetime(year, month, day, 12, tzinfo=UTC)
    for year in range(2000, 2060)
    for month in range(1, 13)
    for day in (1, 15)
)


@lru_cache(maxsize=512)
def _one_clock(names: tuple[str, ...]) -> ZoneInfo | None:
    """The zone when every name keeps the same clock: a UK mobile maps to London, Jersey,
    Guernsey and the Isle of Man, which have never differed, so 09:00 is 09:00 in each.
    Zones whose offsets ever differ at a sample give None, as several real zones do."""
    found = [zone_named(name) for name in names]
    zones = [zone for zone in found if zone is not None]
    if not zones or len(zones) < len(found):
        return None
    first = zones[0]
    if all(zone.utcoffset(at) == first.utcoffset(at) for zone in zones[1:] for at in _SAMPLES):
        return first
    return None


# Where a contact's own zone may be kept, as an attribute; the first present wins.
ZONE_ATTRIBUTES = ("time_zone", "timezone", "tz")


def zone_attribute(attributes: dict[str, Any]) -> str | None:
    """The contact's own zone name from its attributes, if it keeps one."""
    return next(
        (attributes[name] for name in ZONE_ATTRIBUTES if isinstance(attributes.get(name), str)),
        None,
    )


def resolve_zone(
    attribute_zone: str | None,
    phone: str | None,
    default_zone: str,
    *,
    flow_zone: str | None = None,
    default_region: str | None = None,
) -> ResolvedZone:
    """The contact's zone and where it came from, first that applies:

    1. `attribute_zone`, the contact's time zone attribute, if it is an IANA name;
    2. the zone of `phone`, if phonenumbers maps the number to exactly one zone;
    3. `flow_zone`, the flow's own default (FlowSchedule.time_zone), when set and valid;
    4. `default_zone`, the system default from settings.

    A bad attribute or phone silently falls through: it is contact data, and one typo
    must not stop a journey. A bad `default_zone` is configuration and raises ValueError.
    """
    attribute = zone_named(attribute_zone)
    if attribute is not None:
        return ResolvedZone(attribute, ZoneSource.ATTRIBUTE)
    by_phone = zone_for_phone(phone, default_region)
    if by_phone is not None:
        return ResolvedZone(by_phone, ZoneSource.PHONE)
    flow = zone_named(flow_zone)
    if flow is not None:
        return ResolvedZone(flow, ZoneSource.FLOW)
    default = zone_named(default_zone)
    if default is None:
        raise ValueError(f"default time zone {default_zone!r} is not an IANA zone name")
    return ResolvedZone(default, ZoneSource.DEFAULT)


def with_zone(
    contact: ContactSnapshot, zones: Zones, flow_zone: str | None = None
) -> ContactSnapshot:
    """The snapshot with its zone resolved as journeys' timing resolves it, for clock
    conditions in the contact's own zone (timezone: contact)."""
    zone, _ = resolve_zone(
        zone_attribute(contact.attributes),
        contact.phone,
        zones.default_zone,
        flow_zone=flow_zone,
        default_region=zones.default_region,
    )
    return contact.model_copy(update={"zone": zone.key})
