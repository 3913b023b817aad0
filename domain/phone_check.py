"""Whether a contact's phone is a number at all, checked where events come in (the API,
the CLI): one that is not would only surface later, as an SMS skipped for it."""

import phonenumbers


def phone_problem(phone: str | None, region: str | None = None) -> str | None:
    """Why `phone` is not a valid number (None when it is, or when there is none).
    `region`: DRIPSTONE_PHONE_DEFAULT_REGION, for numbers written without +country."""
    if not phone or not phone.strip():
        return None
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(phone, region))
    except phonenumbers.NumberParseException:
        valid = False
    if valid:
        return None
    how = (
        "in E.164 (+14155550100) or national for region " + region
        if region
        else "in E.164 (+14155550100), or set DRIPSTONE_PHONE_DEFAULT_REGION for national numbers"
    )
    return f"{phone!r} is not a valid phone number; write it {how}"
