"""SMS encoding (GSM-7 vs UCS-2) and segment counting, with the boundaries carriers bill on."""

import pytest

from domain.sms import encoding, segments

EMOJI = "\U0001f600"  # 😀: outside the BMP, two UTF-16 code units


@pytest.mark.parametrize(
    "text",
    [
        "Hello, world!",
        "Café à Paris: é è ù ì ò Ç Ø å Æ ß É Ä Ö Ñ Ü ä ö ñ ü",  # GSM's Latin letters
        "@£$¥ _ !\"#¤%&'()*+,-./:;<=>? ¡ § ¿",
        "ΔΦΓΛΩΠΨΣΘΞ",  # Greek capitals GSM carries
        "line one\nline two\r",
        "price: 5€ {braces} [brackets] ~tilde| back\\slash ^caret",  # extension table
        "",
    ],
)
def test_gsm_7_texts(text):
    assert encoding(text) == "GSM-7"


@pytest.mark.parametrize(
    "text",
    [
        "Hi " + EMOJI,
        "Привет",  # Cyrillic
        "你好",
        "naïve",  # ï is not in the GSM alphabet
        "αβγ",  # Greek lower case is not either
        "“smart quotes”",
        "5€ and one emoji " + EMOJI,  # one non-GSM character switches the whole text
    ],
)
def test_ucs_2_texts(text):
    assert encoding(text) == "UCS-2"


def test_empty_text_is_zero_segments():
    assert segments("") == 0


@pytest.mark.parametrize(
    "length, expected",
    [
        (1, 1),
        (159, 1),
        (160, 1),
        (161, 2),
        (305, 2),
        (306, 2),
        (307, 3),
        (459, 3),
        (460, 4),
    ],
)
def test_gsm_segment_boundaries(length, expected):
    # One part holds 160 septets; concatenated parts hold 153 each (the rest is the UDH).
    assert segments("a" * length) == expected


@pytest.mark.parametrize(
    "length, expected",
    [
        (1, 1),
        (69, 1),
        (70, 1),
        (71, 2),
        (133, 2),
        (134, 2),
        (135, 3),
        (201, 3),
        (202, 4),
    ],
)
def test_ucs_2_segment_boundaries(length, expected):
    # One part holds 70 UTF-16 units; concatenated parts hold 67 each.
    assert segments("Ж" * length) == expected


def test_gsm_accented_letters_count_one_each():
    assert segments("é" * 160) == 1
    assert segments("é" * 161) == 2


# Two-unit characters never straddle parts: 76 of them fill a 153-unit part, so 152 fit in
# two parts and the 153rd starts a third.
@pytest.mark.parametrize("count, expected", [(80, 1), (81, 2), (152, 2), (153, 3)])
def test_extension_characters_count_two(count, expected):
    # 80 '€' = 160 septets: one part; 81 = 162: two; 153 = 306: two; 154 = 308: three.
    assert encoding("€" * count) == "GSM-7"
    assert segments("€" * count) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a" * 159 + "€", 2),  # 161 septets
        ("a" * 158 + "€", 1),  # exactly 160
        ("a" * 158 + "{", 1),
        ("a" * 159 + "|", 2),
        ("a" * 304 + "]", 2),  # 306
        ("a" * 305 + "]", 3),  # 307
    ],
)
def test_extension_characters_near_the_boundaries(text, expected):
    assert segments(text) == expected


# 33 emoji (66 units) fill a 67-unit part: 66 fit in two parts, the 67th starts a third.
@pytest.mark.parametrize("count, expected", [(35, 1), (36, 2), (66, 2), (67, 3)])
def test_emoji_count_two_utf16_units(count, expected):
    # 35 emoji = 70 units: one part; 36 = 72: two; 67 = 134: two; 68 = 136: three.
    assert segments(EMOJI * count) == expected


def test_one_emoji_drops_the_limit_from_160_to_70():
    assert segments("a" * 70) == 1
    assert segments("a" * 69 + EMOJI) == 2  # 71 UTF-16 units in UCS-2
    assert segments("a" * 68 + EMOJI) == 1  # 70 units


def test_cyrillic_mixed_with_gsm_text_counts_every_character_as_one_unit():
    assert segments("a" * 69 + "Ж") == 1
    assert segments("a" * 70 + "Ж") == 2
    assert segments("€" * 69 + "Ж") == 1  # '€' is one UTF-16 unit in UCS-2


def test_an_escape_character_on_a_part_boundary_moves_to_the_next_part():
    assert segments("a" * 152 + "€" + "a" * 152) == 3
