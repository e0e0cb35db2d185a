"""Appointment days: `dialogue/actions/dates.py`.

The rescheduling actions take "today" in the customer's time zone (America/New_York), offer
the next 3 weekdays without the booked day, and match what the caller said (the `date`
entity followed by the whole message) against those offers. Every test passes a fixed `now`
or `today`; none reads the clock.

The module is imported as `dialogue.actions...` (the action server imports it as
`actions...`): `dialogue/actions/__init__.py` imports nothing, so this needs no rasa_sdk.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from dialogue.actions.dates import (
    DayRequest,
    next_weekdays,
    parse_day_request,
    pick_offered_day,
    speak_date,
    today_for_customer,
)

NEW_YORK = ZoneInfo("America/New_York")
# The demo: Wednesday 25 November 2026, appointment APT-5501 booked for Wednesday 2 December.
DEMO_TODAY = date(2026, 11, 25)
DEMO_BOOKED = date(2026, 12, 2)
DEMO_OFFERED = [date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30)]


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def fields(
    request: DayRequest,
) -> tuple[date | None, int | None, int | None, int | None, int | None]:
    """(exact, weekday, day_of_month, month, option_index)"""
    return (
        request.exact,
        request.weekday,
        request.day_of_month,
        request.month,
        request.option_index,
    )


# today_for_customer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "today"),
    [
        # 10:00 EST on the demo day
        (utc(2026, 11, 25, 15), date(2026, 11, 25)),
        # winter, UTC-5: 23:59 and 00:00 in New York
        (utc(2026, 11, 26, 4, 59), date(2026, 11, 25)),
        (utc(2026, 11, 26, 5, 0), date(2026, 11, 26)),
        # summer, UTC-4
        (utc(2026, 7, 1, 3, 59), date(2026, 6, 30)),
        (utc(2026, 7, 1, 4, 0), date(2026, 7, 1)),
        # year end
        (utc(2027, 1, 1, 4, 59), date(2026, 12, 31)),
        (utc(2027, 1, 1, 5, 0), date(2027, 1, 1)),
    ],
)
def test_today_is_the_new_york_date_not_the_utc_date(now: datetime, today: date) -> None:
    assert today_for_customer(now) == today


@pytest.mark.parametrize(
    ("now", "today"),
    [
        # Sunday 8 March 2026: clocks go forward at 02:00 EST. Midnight before it is 05:00 UTC,
        # the next midnight (EDT) is 04:00 UTC.
        (utc(2026, 3, 8, 4, 59), date(2026, 3, 7)),
        (utc(2026, 3, 8, 5, 0), date(2026, 3, 8)),
        (utc(2026, 3, 9, 3, 59), date(2026, 3, 8)),
        (utc(2026, 3, 9, 4, 0), date(2026, 3, 9)),
        # Sunday 1 November 2026: clocks go back at 02:00 EDT. Midnight before it is 04:00 UTC,
        # the next midnight (EST) is 05:00 UTC.
        (utc(2026, 11, 1, 3, 59), date(2026, 10, 31)),
        (utc(2026, 11, 1, 4, 0), date(2026, 11, 1)),
        (utc(2026, 11, 2, 4, 59), date(2026, 11, 1)),
        (utc(2026, 11, 2, 5, 0), date(2026, 11, 2)),
    ],
)
def test_today_follows_new_york_midnight_on_the_days_the_clocks_change(
    now: datetime, today: date
) -> None:
    assert today_for_customer(now) == today


@pytest.mark.parametrize(
    ("now", "today"),
    [
        (datetime(2026, 11, 25, 23, 59, tzinfo=NEW_YORK), date(2026, 11, 25)),
        (datetime(2026, 11, 26, 0, 0, tzinfo=NEW_YORK), date(2026, 11, 26)),
        # 09:00 in Tokyo on the 26th is 19:00 on the 25th in New York
        (datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")), date(2026, 11, 25)),
        # 01:00 in London on the 26th is 20:00 on the 25th in New York
        (datetime(2026, 11, 26, 1, 0, tzinfo=ZoneInfo("Europe/London")), date(2026, 11, 25)),
        # 21:30 in Los Angeles on the 25th is 00:30 on the 26th in New York
        (
            datetime(2026, 11, 25, 21, 30, tzinfo=ZoneInfo("America/Los_Angeles")),
            date(2026, 11, 26),
        ),
    ],
)
def test_today_does_not_depend_on_the_zone_now_is_given_in(now: datetime, today: date) -> None:
    assert today_for_customer(now) == today


# next_weekdays -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "days"),
    [
        # Wednesday: Thursday, Friday, then Monday
        (date(2026, 11, 25), [date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30)]),
        # Friday, Saturday and Sunday all lead to Monday to Wednesday
        (date(2026, 11, 27), [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]),
        (date(2026, 11, 28), [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]),
        (date(2026, 11, 29), [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]),
        # Monday: the rest of the week
        (date(2026, 11, 30), [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]),
        # across the year end
        (date(2026, 12, 30), [date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 4)]),
        # a leap day is a day like any other
        (date(2028, 2, 28), [date(2028, 2, 29), date(2028, 3, 1), date(2028, 3, 2)]),
        # the weekends the clocks change
        (date(2026, 3, 6), [date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)]),
        (date(2026, 10, 30), [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)]),
    ],
)
def test_offers_the_next_three_weekdays_after_the_day(after: date, days: list[date]) -> None:
    assert next_weekdays(after) == days


def test_the_booked_day_is_not_offered_again() -> None:
    # Monday 30 November with the appointment on Wednesday 2 December
    assert next_weekdays(date(2026, 11, 30), exclude=frozenset({DEMO_BOOKED})) == [
        date(2026, 12, 1),
        date(2026, 12, 3),
        date(2026, 12, 4),
    ]


def test_a_booked_day_beyond_the_offers_changes_nothing() -> None:
    assert next_weekdays(DEMO_TODAY, 3, exclude=frozenset({DEMO_BOOKED})) == DEMO_OFFERED


def test_several_excluded_days_are_all_skipped() -> None:
    excluded = frozenset({date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28)})
    assert next_weekdays(DEMO_TODAY, 2, exclude=excluded) == [
        date(2026, 11, 30),
        date(2026, 12, 1),
    ]


@pytest.mark.parametrize(
    ("count", "days"),
    [
        (0, []),
        (1, [date(2026, 11, 26)]),
        (
            6,
            [
                date(2026, 11, 26),
                date(2026, 11, 27),
                date(2026, 11, 30),
                date(2026, 12, 1),
                date(2026, 12, 2),
                date(2026, 12, 3),
            ],
        ),
    ],
)
def test_offers_as_many_weekdays_as_asked(count: int, days: list[date]) -> None:
    assert next_weekdays(DEMO_TODAY, count) == days


# speak_date --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "spoken"),
    [
        (date(2026, 11, 27), "Friday, November 27th"),
        (date(2026, 12, 1), "Tuesday, December 1st"),
        (date(2026, 12, 2), "Wednesday, December 2nd"),
        (date(2026, 12, 3), "Thursday, December 3rd"),
        (date(2026, 12, 4), "Friday, December 4th"),
        (date(2026, 12, 11), "Friday, December 11th"),
        (date(2026, 11, 12), "Thursday, November 12th"),
        (date(2026, 11, 13), "Friday, November 13th"),
        (date(2026, 12, 21), "Monday, December 21st"),
        (date(2026, 12, 22), "Tuesday, December 22nd"),
        (date(2026, 12, 23), "Wednesday, December 23rd"),
        (date(2026, 11, 30), "Monday, November 30th"),
        (date(2026, 12, 31), "Thursday, December 31st"),
        (date(2027, 1, 1), "Friday, January 1st"),
        (date(2026, 5, 20), "Wednesday, May 20th"),
        (date(2028, 2, 29), "Tuesday, February 29th"),
    ],
)
def test_a_day_is_spoken_as_weekday_month_and_ordinal(day: date, spoken: str) -> None:
    assert speak_date(day) == spoken
    assert speak_date(day, "en-US") == spoken


# parse_day_request -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "weekday"),
    [
        ("friday", 4),
        ("Friday.", 4),
        ("um friday works", 4),
        ("monday would be good", 0),
        ("next monday", 0),
        ("can we do tuesday", 1),
        ("wednesday works for me", 2),
        ("thursday is better for me", 3),
        ("fridays are best", 4),
        # abbreviations and what the recogniser writes
        ("tues", 1),
        ("weds", 2),
        ("thurs", 3),
        ("fri", 4),
        ("fryday", 4),
        ("thirsday works", 3),
        ("wensday", 2),
        # "may" the verb is not the month
        ("may i have friday", 4),
        ("may we do monday", 0),
    ],
)
def test_a_weekday_name_is_understood_as_that_weekday(said: str, weekday: int) -> None:
    assert fields(parse_day_request(said, DEMO_TODAY)) == (None, weekday, None, None, None)


@pytest.mark.parametrize(
    ("said", "today", "exact"),
    [
        ("tomorrow", DEMO_TODAY, date(2026, 11, 26)),
        ("Tomorrow is fine.", DEMO_TODAY, date(2026, 11, 26)),
        ("let's do tomorrow", DEMO_TODAY, date(2026, 11, 26)),
        ("tmrw", DEMO_TODAY, date(2026, 11, 26)),
        ("the day after tomorrow", DEMO_TODAY, date(2026, 11, 27)),
        ("today", DEMO_TODAY, DEMO_TODAY),
        # month end, year end, leap day
        ("tomorrow", date(2026, 11, 30), date(2026, 12, 1)),
        ("tomorrow", date(2026, 12, 31), date(2027, 1, 1)),
        ("the day after tomorrow", date(2026, 12, 30), date(2027, 1, 1)),
        ("tomorrow", date(2028, 2, 28), date(2028, 2, 29)),
        ("tomorrow", date(2027, 2, 28), date(2027, 3, 1)),
    ],
)
def test_relative_days_count_from_today(said: str, today: date, exact: date) -> None:
    assert fields(parse_day_request(said, today)) == (exact, None, None, None, None)


@pytest.mark.parametrize(
    ("said", "month", "day"),
    [
        ("december third", 12, 3),
        ("december 3rd", 12, 3),
        ("december the third", 12, 3),
        ("november twenty seventh", 11, 27),
        ("november 27th", 11, 27),
        ("december first works", 12, 1),
        ("the first of december", 12, 1),
        ("the 3rd of december", 12, 3),
        ("dec 1", 12, 1),
        ("sept 9th", 9, 9),
        ("may 5th", 5, 5),
        ("january first", 1, 1),
        ("december thirty first", 12, 31),
        ("december 5th 2026", 12, 5),
        # month/day as the recogniser writes it
        ("12/3", 12, 3),
        ("11/27", 11, 27),
        ("12/1 please", 12, 1),
        ("12/3/2026", 12, 3),
        ("12/03/26", 12, 3),
    ],
)
def test_a_month_and_a_day_are_understood(said: str, month: int, day: int) -> None:
    assert fields(parse_day_request(said, DEMO_TODAY)) == (None, None, day, month, None)


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("the 3rd", 3),
        ("the third", 3),
        ("the 27th", 27),
        ("the twenty seventh", 27),
        ("the thirtieth please", 30),
        ("on the first", 1),
        ("the 1st", 1),
        ("the second", 2),
        ("the ninth", 9),
        ("the tenth", 10),
        ("the nineteenth", 19),
        ("the twentieth", 20),
        ("the twenty first", 21),
        ("the twenty one", 21),
        ("the thirty first", 31),
        ("thirty one", 31),
        ("on five", 5),
        ("can i have the 30th", 30),
        ("uh can we do the 26th", 26),
        ("26", 26),
    ],
)
def test_a_day_of_the_month_alone_is_understood(said: str, day: int) -> None:
    assert fields(parse_day_request(said, DEMO_TODAY)) == (None, None, day, None, None)


@pytest.mark.parametrize(
    ("said", "weekday", "day"),
    [
        ("monday the 30th", 0, 30),
        ("what about monday the 30th", 0, 30),
        ("friday the 27th is good", 4, 27),
        ("thursday the twenty sixth", 3, 26),
    ],
)
def test_a_weekday_with_a_day_of_the_month_keeps_both(said: str, weekday: int, day: int) -> None:
    assert fields(parse_day_request(said, DEMO_TODAY)) == (None, weekday, day, None, None)


def test_a_weekday_month_and_day_keep_all_three() -> None:
    request = parse_day_request("tuesday december first", DEMO_TODAY)
    assert fields(request) == (None, 1, 1, 12, None)


@pytest.mark.parametrize(
    ("said", "index"),
    [
        ("the first one", 0),
        ("i'd like the first one", 0),
        ("first option", 0),
        ("the second one", 1),
        ("the third option", 2),
        ("the last one please", -1),
    ],
)
def test_the_nth_one_picks_an_offered_option_not_a_day_of_the_month(said: str, index: int) -> None:
    assert fields(parse_day_request(said, DEMO_TODAY)) == (None, None, None, None, index)


@pytest.mark.parametrize(
    "said",
    [
        "",
        "i don't know",
        "that one",
        "one",
        "next week",
        "whenever",
        "what were the days again",
        # impossible days and dates
        "the 0th",
        "32nd",
        "13/12",
        "12/32",
        "0/5",
        # a year or an account number is not a day
        "2026",
        "10234567",
    ],
)
def test_text_without_a_day_gives_an_empty_request(said: str) -> None:
    request = parse_day_request(said, DEMO_TODAY)
    assert fields(request) == (None, None, None, None, None)
    assert request.is_empty()


# DayRequest -------------------------------------------------------------------------------


def test_a_request_matches_only_days_with_everything_it_names() -> None:
    request = DayRequest(weekday=4, day_of_month=27, month=11)
    assert request.matches(date(2026, 11, 27))
    assert not request.matches(date(2026, 12, 4))  # a Friday, not the 27th
    assert not request.matches(date(2026, 11, 26))  # a Thursday
    assert not request.matches(date(2027, 8, 27))  # a Friday the 27th, in August


def test_an_exact_request_matches_that_day_only() -> None:
    request = DayRequest(exact=date(2026, 11, 26))
    assert request.matches(date(2026, 11, 26))
    assert not request.matches(date(2026, 11, 27))


def test_a_request_is_empty_only_when_it_names_nothing() -> None:
    assert DayRequest().is_empty()
    assert not DayRequest(option_index=0).is_empty()
    assert not DayRequest(month=12).is_empty()


# pick_offered_day ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "chosen"),
    [
        ("friday", date(2026, 11, 27)),
        ("um friday works", date(2026, 11, 27)),
        ("fryday", date(2026, 11, 27)),
        ("thirsday works", date(2026, 11, 26)),
        ("next monday", date(2026, 11, 30)),
        ("tomorrow", date(2026, 11, 26)),
        ("the day after tomorrow", date(2026, 11, 27)),
        ("the 27th", date(2026, 11, 27)),
        ("the twenty sixth", date(2026, 11, 26)),
        ("the thirtieth please", date(2026, 11, 30)),
        ("november twenty seventh", date(2026, 11, 27)),
        ("11/30", date(2026, 11, 30)),
        ("monday the 30th", date(2026, 11, 30)),
        ("thursday the twenty sixth", date(2026, 11, 26)),
        ("the first one", date(2026, 11, 26)),
        ("the second one", date(2026, 11, 27)),
        ("the last one please", date(2026, 11, 30)),
        ("the third option", date(2026, 11, 30)),
        # as the action builds it: the `date` entity, then the whole message
        ("friday um friday works", date(2026, 11, 27)),
        ("the second one the second one", date(2026, 11, 27)),
    ],
)
def test_the_caller_picks_one_of_the_offered_days(said: str, chosen: date) -> None:
    assert pick_offered_day(said, DEMO_OFFERED, DEMO_TODAY) == (chosen, True)


@pytest.mark.parametrize(
    "said",
    [
        # today is never offered
        "today",
        # weekends are never offered
        "saturday",
        "sunday",
        # a weekday that is not among the three
        "tuesday",
        # days after the offers
        "december third",
        "the 3rd",
        "12/1 please",
        "the first the first of december",
        # a weekday and a day of the month that are not the same day
        "monday the 27th",
        "friday the 30th",
        # the right day of the month, another month
        "december 27th",
    ],
)
def test_a_day_not_on_offer_is_told_apart_from_no_day(said: str) -> None:
    assert pick_offered_day(said, DEMO_OFFERED, DEMO_TODAY) == (None, True)


@pytest.mark.parametrize(
    "said",
    ["", "i don't know", "what were the days again", "next week", "that one", "yes"],
)
def test_no_day_understood_says_so(said: str) -> None:
    assert pick_offered_day(said, DEMO_OFFERED, DEMO_TODAY) == (None, False)


@pytest.mark.parametrize(
    ("said", "offered"),
    [
        ("the third one", [date(2026, 11, 26), date(2026, 11, 27)]),
        ("the last one", []),
        ("the first one", []),
        ("friday", []),
    ],
)
def test_an_option_beyond_the_offers_is_not_on_offer(said: str, offered: list[date]) -> None:
    assert pick_offered_day(said, offered, DEMO_TODAY) == (None, True)


@pytest.mark.parametrize(
    ("said", "chosen"),
    [
        ("the 30th", date(2026, 11, 30)),
        ("monday", date(2026, 11, 30)),
        ("the first", date(2026, 12, 1)),
        ("december first", date(2026, 12, 1)),
        ("tuesday", date(2026, 12, 1)),
        ("12/3", date(2026, 12, 3)),
        ("thursday", date(2026, 12, 3)),
        # the booked Wednesday, and the Saturday "tomorrow" is, are not on offer
        ("the 2nd", None),
        ("wednesday", None),
        ("tomorrow", None),
    ],
)
def test_offers_across_a_month_end_are_matched_by_their_own_month(
    said: str, chosen: date | None
) -> None:
    # Friday 27 November: Monday 30 November, Tuesday 1 and Thursday 3 December
    today = date(2026, 11, 27)
    offered = next_weekdays(today, 3, exclude=frozenset({DEMO_BOOKED}))
    assert offered == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 3)]
    assert pick_offered_day(said, offered, today) == (chosen, True)


@pytest.mark.parametrize(
    ("said", "chosen"),
    [
        ("tomorrow", date(2026, 12, 31)),
        ("the day after tomorrow", date(2027, 1, 1)),
        ("the 31st", date(2026, 12, 31)),
        ("january first", date(2027, 1, 1)),
        ("friday", date(2027, 1, 1)),
        ("1/4", date(2027, 1, 4)),
        ("monday the 4th", date(2027, 1, 4)),
        ("the last one", date(2027, 1, 4)),
    ],
)
def test_offers_across_the_year_end_are_matched(said: str, chosen: date) -> None:
    today = date(2026, 12, 30)  # a Wednesday
    offered = next_weekdays(today)
    assert offered == [date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 4)]
    assert pick_offered_day(said, offered, today) == (chosen, True)


@pytest.mark.parametrize(
    ("said", "chosen"),
    [
        ("the 29th", date(2028, 2, 29)),
        ("february twenty ninth", date(2028, 2, 29)),
        ("tomorrow", date(2028, 2, 29)),
        ("march first", date(2028, 3, 1)),
    ],
)
def test_a_leap_day_can_be_picked(said: str, chosen: date) -> None:
    today = date(2028, 2, 28)  # a Monday
    assert pick_offered_day(said, next_weekdays(today), today) == (chosen, True)


@pytest.mark.parametrize(
    ("said", "chosen"),
    [
        ("tomorrow", None),  # Sunday
        ("the day after tomorrow", date(2026, 11, 30)),
        ("monday", date(2026, 11, 30)),
        ("wednesday", date(2026, 12, 2)),
    ],
)
def test_on_a_saturday_tomorrow_is_not_on_offer_but_monday_is(
    said: str, chosen: date | None
) -> None:
    today = date(2026, 11, 28)
    assert pick_offered_day(said, next_weekdays(today), today) == (chosen, True)


@pytest.mark.parametrize(
    "day",
    [
        *DEMO_OFFERED,
        date(2026, 12, 1),
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2026, 5, 20),  # "May" followed by a day is the month
    ],
)
def test_a_day_read_back_as_the_assistant_says_it_picks_that_day(day: date) -> None:
    # callers often repeat the option they heard
    offered = [day]
    assert pick_offered_day(speak_date(day).lower(), offered, DEMO_TODAY) == (day, True)
    assert pick_offered_day(speak_date(day), offered, DEMO_TODAY) == (day, True)


# the flow of the actions: now -> today -> offers -> the caller's day ----------------------


@pytest.mark.parametrize(
    ("now", "offered", "tomorrow"),
    [
        # 22:30 on Wednesday 25 November in New York, already Thursday in UTC
        (
            utc(2026, 11, 26, 3, 30),
            [date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30)],
            date(2026, 11, 26),
        ),
        # 21:00 on Friday 27 November in New York, already Saturday in UTC: tomorrow is a
        # Saturday, not on offer (nor is the booked Wednesday 2 December)
        (
            utc(2026, 11, 28, 2, 0),
            [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 3)],
            None,
        ),
        # 23:30 on Sunday 1 November (the clocks went back that morning), already Monday in UTC
        (
            utc(2026, 11, 2, 4, 30),
            [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)],
            date(2026, 11, 2),
        ),
        # 23:30 on Sunday 8 March (the clocks went forward that morning), already Monday in UTC
        (
            utc(2026, 3, 9, 3, 30),
            [date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)],
            date(2026, 3, 9),
        ),
        # 00:30 on Monday 9 March in New York
        (
            utc(2026, 3, 9, 4, 30),
            [date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)],
            date(2026, 3, 10),
        ),
    ],
)
def test_late_evening_calls_offer_and_understand_days_in_new_york_time(
    now: datetime, offered: list[date], tomorrow: date | None
) -> None:
    today = today_for_customer(now)
    assert next_weekdays(today, 3, exclude=frozenset({DEMO_BOOKED})) == offered
    assert pick_offered_day("tomorrow", offered, today) == (tomorrow, True)
