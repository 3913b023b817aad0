"""A contact's phone is checked where it comes in: E.164, or national with the region."""

from domain.phone_check import phone_problem


def test_valid_numbers_pass_and_missing_ones_are_not_a_problem():
    assert phone_problem("+14155550101") is None
    assert phone_problem("+44 7911 123456") is None
    assert phone_problem(None) is None and phone_problem("  ") is None


def test_a_national_number_needs_the_region():
    assert "DRIPSTONE_PHONE_DEFAULT_REGION" in phone_problem("(415) 555-0101")
    assert phone_problem("(415) 555-0101", "US") is None


def test_what_is_no_number_is_named():
    assert phone_problem("12").startswith("'12' is not a valid phone number")
    assert "national for region US" in phone_problem("12", "US")
    assert phone_problem("call me") is not None
