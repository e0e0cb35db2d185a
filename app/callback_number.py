"""Which number a caller may be called back on: a real number of a country the operator
calls (queues.yml `callbacks.countries`), never one that costs the centre a premium rate.
Numbers keyed on the phone's keypad come without "+": phonenumbers reads them as the first
country's national numbers, or as international ones after its exit code (001 from
Thailand, 011 from the US, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import PhoneNumberType

# Numbers whose call the centre would pay extra for, or that reach nobody in particular.
_REFUSED_TYPES = frozenset({PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST})


class NumberProblem(StrEnum):
    withheld = "withheld"  # no caller ID to call back
    invalid = "invalid"  # not a number anyone can be reached on
    premium = "premium"  # premium-rate or shared-cost
    abroad = "abroad"  # a country the operator does not call


@dataclass(frozen=True)
class CallbackNumber:
    e164: str
    last_digits: str  # what the caller hears to recognise it


def _parse(raw: str, country: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None


def check(raw: str, countries: list[str]) -> CallbackNumber | NumberProblem:
    """The number `raw` (a caller ID in E.164, '' when withheld, or keys pressed) as one to
    call back, or why it cannot be. `countries` are ISO 3166 codes, the first the one keyed
    numbers are in. Whether a caller ID is withheld is decided once, where the webhook is
    read (`VoiceRequest.caller_number`)."""
    raw = raw.strip()
    if not raw:
        return NumberProblem.withheld
    number = _parse(raw, countries[0])
    if number is None or not phonenumbers.is_valid_number(number):
        return NumberProblem.invalid
    if phonenumbers.number_type(number) in _REFUSED_TYPES:
        return NumberProblem.premium
    if phonenumbers.region_code_for_number(number) not in countries:
        return NumberProblem.abroad
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return CallbackNumber(e164, e164[-4:])
