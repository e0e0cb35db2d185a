"""Account numbers as the speech recogniser writes them: `dialogue/actions/spoken_numbers.py`.

The verification form keeps the longer of the digits in the entity and the digits in the
whole message, then wants 6 to 12 of them: a stray digit is a wrong account number, not just
noise. The phrasings below are the ones in `nlu_data/en-US/verification.yml` and what a
recogniser makes of them.

The module is imported as `dialogue.actions...` (the action server imports it as
`actions...`): `dialogue/actions/__init__.py` imports nothing, so this needs no rasa_sdk.
"""

from __future__ import annotations

import pytest

from dialogue.actions.spoken_numbers import spoken_digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("one two three four five six", "123456"),
        ("one oh two three four five six seven", "10234567"),
        ("one zero two three four five six seven", "10234567"),
        ("one o two three four five six seven", "10234567"),
        ("two oh nine eight seven six five four", "20987654"),
        ("five five five oh one two three four", "55501234"),
        ("nine nine eight eight seven seven six six", "99887766"),
        ("nought one two three four five", "012345"),
        ("one two three four five six seven eight nine oh one two", "123456789012"),
    ],
)
def test_account_number_said_digit_by_digit_becomes_its_digits(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("ten twenty three forty five sixty seven", "10234567"),
        ("thirty one forty one fifty nine twenty six", "31415926"),
        ("forty two forty two forty two forty two", "42424242"),
        ("twenty ninety eight seventy six fifty four", "20987654"),
        ("eleven twelve thirteen fourteen", "11121314"),
        ("fifteen sixteen seventeen eighteen nineteen", "1516171819"),
        # the recogniser's spelling
        ("fourty two fourty two", "4242"),
        # pairs and single digits mixed
        ("ten two three four five six seven", "10234567"),
        ("one oh twenty three forty five sixty seven", "10234567"),
    ],
)
def test_account_number_read_in_pairs_becomes_its_digits(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("ten twenty-three forty-five sixty-seven", "10234567"),
        ("twenty-three", "23"),
        ("ninety-nine", "99"),
    ],
)
def test_hyphenated_pairs_read_as_the_pair(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        # "twenty oh five" is 2005, not 25
        ("twenty oh five", "2005"),
        ("twenty o five", "2005"),
        ("twenty zero five", "2005"),
        ("nineteen oh seven", "1907"),
        ("sixty oh", "600"),
        # a tens word on its own is its two digits
        ("twenty", "20"),
        ("one two ninety", "1290"),
        ("thirty forty", "3040"),
    ],
)
def test_a_tens_word_keeps_its_zero_unless_a_digit_follows(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("double four", "44"),
        ("triple seven", "777"),
        ("double oh seven", "007"),
        ("double o seven", "007"),
        ("double zero", "00"),
        ("one double oh two", "1002"),
        ("five triple five one two", "555512"),
        ("double 4", "44"),
        ("it's double four two four two four two", "4424242"),
        ("double four double two", "4422"),
    ],
)
def test_double_and_triple_repeat_the_digit_after_them(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("double", ""),
        ("one two double", "12"),
        ("double please", ""),
        # a pair cannot be doubled: the pair is read once
        ("double twenty", "20"),
    ],
)
def test_double_without_a_digit_after_it_adds_nothing(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("10234567", "10234567"),
        ("1 0 2 3 4 5 6 7", "10234567"),
        ("1023 4567", "10234567"),
        ("1023-4567", "10234567"),
        ("1,023,456", "1023456"),
        ("10234567.", "10234567"),
        ("it's 1 0 2 3 4 5 6 7", "10234567"),
        ("My account number is 10234567.", "10234567"),
        # leading zeros are digits of the account number
        ("0012 3456", "00123456"),
        # digits and words in one transcript
        ("1 oh 2 three", "1023"),
    ],
)
def test_digits_written_by_the_recogniser_are_kept_in_order(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("um it's one oh two three four five six seven", "10234567"),
        ("uh yeah it's three one four one five nine two six", "31415926"),
        ("yeah so it's like one oh two three four five six seven", "10234567"),
        ("hang on it's one oh two three four five six seven", "10234567"),
        ("sure one zero two three four five six seven", "10234567"),
        ("i think it's three one four one five nine two six", "31415926"),
        ("my account number is two oh nine eight seven six five four", "20987654"),
        ("the account number is twenty ninety eight seventy six fifty four", "20987654"),
        ("Um, it's 1023-4567.", "10234567"),
    ],
)
def test_fillers_around_the_number_are_ignored(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("ONE OH TWO THREE", "1023"),
        ("One, oh, two, three.", "1023"),
        ("Ten Twenty-Three", "1023"),
    ],
)
def test_capitals_and_punctuation_from_the_recogniser_do_not_matter(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("one oh to three four five six seven", "10234567"),
        ("one two for five", "1245"),
        ("won two three", "123"),
        ("seven ate nine", "789"),
        ("two too", "22"),
        ("one 2 to", "122"),
        ("twenty for", "24"),
        ("twenty won", "21"),
    ],
)
def test_a_homophone_next_to_a_number_is_a_digit(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    "said",
    [
        "i want to pay my bill",
        "can i speak to a person",
        "i'm calling for my mother",
        "i won a prize",
        "i ate already",
        "me too",
        "o k",
    ],
)
def test_a_homophone_away_from_numbers_is_not_a_digit(said: str) -> None:
    assert spoken_digits(said) == ""


@pytest.mark.parametrize(
    "said",
    [
        "",
        "   ",
        "um",
        "i don't know it",
        "i don't have my bill with me",
        "what's a pin",
        "?!",
    ],
)
def test_text_without_a_number_gives_no_digits(said: str) -> None:
    assert spoken_digits(said) == ""


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("Oh, it's 10234567.", "10234567"),
        ("oh sure it's one two three four five six", "123456"),
        ("oh um it's one oh two three four five six seven", "10234567"),
        ("oh i see it's two oh nine eight seven six five four", "20987654"),
        ("oh", ""),
    ],
)
def test_oh_as_an_interjection_is_not_a_zero(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("oh oh seven", "007"),
        ("o o seven", "007"),
        ("one oh oh two", "1002"),
        ("one oh oh oh two", "10002"),
        ("five five five oh oh", "55500"),
        ("oh one two three", "0123"),
        ("one two three oh", "1230"),
    ],
)
def test_zeros_said_as_oh_next_to_the_number_are_kept(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


@pytest.mark.parametrize(
    "said",
    [
        "um one oh two three four five six seven",
        "ten twenty three forty five sixty seven",
    ],
)
def test_the_docstring_examples_hold(said: str) -> None:
    assert spoken_digits(said) == "10234567"
