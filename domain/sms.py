"""SMS segment counting: GSM-7 when every character fits the GSM alphabet, else UCS-2."""

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension characters take an escape plus the character: two septets each.
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def encoding(text: str) -> str:
    return "GSM-7" if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text) else "UCS-2"


def segments(text: str) -> int:
    """How many SMS parts the text is billed as (0 for empty text)."""
    if not text:
        return 0
    if encoding(text) == "GSM-7":
        sizes = [2 if c in _GSM_EXTENDED else 1 for c in text]
        single, multi = 160, 153
    else:
        # UCS-2 counts UTF-16 code units: characters outside the BMP (emoji) take two.
        sizes = [len(c.encode("utf-16-le")) // 2 for c in text]
        single, multi = 70, 67
    if sum(sizes) <= single:
        return 1
    # A two-unit character (GSM escape, UTF-16 surrogate pair) is never split across
    # parts: when it does not fit, the carrier starts the next part with it.
    count, used = 1, 0
    for size in sizes:
        if used + size > multi:
            count, used = count + 1, 0
        used += size
    return count
