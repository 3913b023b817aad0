"""Phone numbers as providers want them: E.164, checked with phonenumbers."""

from collections.abc import Iterable

import phonenumbers


def to_e164(raw: str | None, default_region: str | None = None) -> str | None:
    """The number in E.164 (+14155550101), or None when it is missing or not a valid
    number. A number written without +country needs `default_region` (e.g. "US")."""
    if not raw or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def stored_forms(raw: str, e164: str | None) -> list[str]:
    """The values a contact's phone column may hold for this number: contacts keep the
    phone as their events gave it, so both the raw and the normalised form are looked up."""
    forms: Iterable[str] = (raw.strip(), e164 or "")
    return sorted({f for f in forms if f})
