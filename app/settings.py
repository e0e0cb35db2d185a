"""Settings: the environment (fixed names) and the operator's YAML files, validated at start.

Anything wrong stops the start with a message naming the file and the field, so an operator
never finds out from a caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from app import voices
from app.production_checks import production_problems

REPO_ROOT = Path(__file__).resolve().parent.parent
QUEUE_DIR = REPO_ROOT / "queue"
DEMO_DIR = REPO_ROOT / "demo"

# A development token is only ever used when APP_ENV=development and none is set: it lets the
# demo and the simulator sign requests without a Twilio account.
DEVELOPMENT_AUTH_TOKEN = "development-token-not-a-secret"
DEVELOPMENT_ACCOUNT_SID = "AC" + "0" * 32


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the file (or variable) and field."""


class WebRole(StrEnum):
    """What a web process serves. The Procfile runs Twilio's webhooks and the console in
    separate processes, so a flood of console sign-ins (a scrypt each) never takes the
    threads and cores callers' webhooks need; `all` serves both (one process, tests)."""

    all = "all"
    voice = "voice"  # /voice/* and /healthz
    console = "console"  # /agent/, /operator/ and /healthz


class AppEnv(StrEnum):
    """Production checks every secret; development (the demo, the tests) signs with a
    development identity when none is set. Nothing else is accepted."""

    production = "production"
    development = "development"


class Settings(BaseSettings):
    """Process settings from the environment (an `.env` file may supply them)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    app_env: AppEnv = AppEnv.production
    web_role: WebRole = WebRole.all
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    public_base_url: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # REDIS_URL names one node of a Redis Cluster (the client finds the rest). RQ does not
    # support Cluster, so jobs then need a plain Redis of their own (JOBS_REDIS_URL).
    redis_cluster: bool = False
    jobs_redis_url: str = ""  # default: REDIS_URL (plain Redis only)
    rasa_url: str = "http://127.0.0.1:5005"
    # Several Rasa processes sharing the conversations (comma-separated; RASA_URL when empty):
    # turns go round them and skip one that is down.
    rasa_urls: str = ""
    rasa_token: str = ""
    # Turns a second one Rasa process serves on this hardware (bench/run-dialogue-capacity
    # measures it): each process then holds at most the turns it answers within 40% of
    # the turn budget, and further turns get the keypad menu at once (app/dialogue_slots.py).
    rasa_turns_per_second: float = Field(default=20.0, gt=0, le=10_000)
    customers_file: Path = DEMO_DIR / "customers.yml"
    agents_file: Path = DEMO_DIR / "agents.yml"
    # Signs the agent console's session cookie.
    secret_key: str = ""
    port: int = 8000
    queues_file: Path = QUEUE_DIR / "queues.yml"
    operator_file: Path = QUEUE_DIR / "operator.yml"

    @field_validator("public_base_url", "twilio_api_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def rasa_servers(self) -> list[str]:
        urls = [url.strip() for url in self.rasa_urls.split(",") if url.strip()]
        return urls or [self.rasa_url]

    @property
    def jobs_url(self) -> str:
        return self.jobs_redis_url or self.redis_url

    @model_validator(mode="after")
    def _jobs_apart_from_a_cluster(self) -> Settings:
        if self.redis_cluster and not self.jobs_redis_url:
            raise ValueError(
                "REDIS_CLUSTER is set: RQ cannot use a Redis Cluster, so set JOBS_REDIS_URL to "
                "a plain Redis for the background jobs"
            )
        return self

    @model_validator(mode="after")
    def _secrets_in_production(self) -> Settings:
        if self.app_env is AppEnv.production:
            problems = production_problems(self, DEMO_DIR)
            if problems:
                raise ValueError("; ".join(problems))
        if self.public_base_url and not re.match(r"^https?://[^/]+$", self.public_base_url):
            raise ValueError(
                "PUBLIC_BASE_URL must be an origin such as https://voice.example.com "
                f"(no path), got {self.public_base_url!r}"
            )
        return self

    @property
    def auth_token(self) -> str:
        return self.twilio_auth_token or DEVELOPMENT_AUTH_TOKEN

    @property
    def account_sid(self) -> str:
        return self.twilio_account_sid or DEVELOPMENT_ACCOUNT_SID

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://127.0.0.1:{self.port}"


# --- the operator's YAML -------------------------------------------------------------------

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Clip(_Strict):
    """A recording played with `<Play>`: its file (a path under the language's
    `recordings.base_url`, or an absolute URL) and its transcript, what it says."""

    clip: str = Field(min_length=1, pattern=r"^[^\s?#]+$")
    text: str = Field(min_length=1)


class Placeholder(_Strict):
    """A `{name}` among a recorded line's clips: the value, said from clips (a number, a
    time, a day, or another recorded line)."""

    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")


_PLACEHOLDER = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")


def _part(item: Any) -> Any:
    if isinstance(item, str):
        match = _PLACEHOLDER.match(item)
        if not match:
            raise ValueError(
                f"{item!r}: between clips, only a {{placeholder}} may be written as text"
            )
        return Placeholder(name=match.group(1))
    return Clip.model_validate(item)


class Line(_Strict):
    """One sentence the app says, with `{placeholders}` filled in when it is said
    (`app.speech.sentence`). In the YAML, either text, said by the language's voice; or a
    recording, played: one clip (`{clip: greeting.wav, text: "..."}`) or a list of clips
    and `"{placeholders}"` in the order they are said. `text` is then the transcript."""

    text: str = Field(min_length=1)
    parts: tuple[Clip | Placeholder, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"text": value}
        if isinstance(value, dict) and "clip" in value:
            value = [value]
        if isinstance(value, list):
            if not value:
                raise ValueError("a recorded line needs at least one clip")
            parts = [_part(item) for item in value]
            transcript = " ".join(
                p.text if isinstance(p, Clip) else "{" + p.name + "}" for p in parts
            )
            return {"text": transcript, "parts": parts}
        return value

    @property
    def recorded(self) -> bool:
        """Played from clips rather than said by a voice."""
        return bool(self.parts)


class Plural(_Strict):
    """A sentence whose words depend on a count: `one`/`other` (plus an optional `zero`).

    Languages without grammatical number (Thai, Lao, Chinese, Indonesian) give `other` only.
    """

    zero: Line | None = None
    one: Line | None = None
    other: Line

    def forms(self) -> dict[str, Line]:
        return {
            name: line
            for name, line in (("zero", self.zero), ("one", self.one), ("other", self.other))
            if line is not None
        }


class PlaceholderKind(StrEnum):
    """What a `{placeholder}` holds, so it can be checked at start and said from clips."""

    number = "number"
    digits = "digits"  # a number said digit by digit (the end of a phone number)
    time = "time"
    day = "day"
    line = "line"  # one of the operator's own lines (a reason's name, a period of the day)
    text = "text"  # free text (a company or customer name): a voice can say it, clips cannot


class Prompts(_Strict):
    # The placeholders each prompt may use, and what they hold; a prompt not listed takes none.
    PLACEHOLDERS: ClassVar[dict[str, dict[str, PlaceholderKind]]] = {
        "greeting": {"company": PlaceholderKind.text},
        "closed": {"company": PlaceholderKind.text},
        "people_ahead": {"count": PlaceholderKind.number},
        "wait_minutes": {"minutes": PlaceholderKind.number},
        "wait_range": {"low": PlaceholderKind.number, "high": PlaceholderKind.number},
        "next_opening_today": {"time": PlaceholderKind.time},
        "next_opening_tomorrow": {"time": PlaceholderKind.time},
        "next_opening_later": {"day": PlaceholderKind.day, "time": PlaceholderKind.time},
        "whisper_verified": {"name": PlaceholderKind.text},
        "whisper_reason": {"reason": PlaceholderKind.line},
        "whisper_waited": {"count": PlaceholderKind.number},
        "language_option": {"key": PlaceholderKind.number},
        "language_switch": {"key": PlaceholderKind.number},
        "whisper_language": {"language": PlaceholderKind.line},
        "callback_option": {"key": PlaceholderKind.number},
        "callback_at_opening_option": {"key": PlaceholderKind.number},
        "callback_cancel_option": {"key": PlaceholderKind.number},
        "callback_number_check": {"digits": PlaceholderKind.digits},
        "callback_intro": {"company": PlaceholderKind.text},
    }

    greeting: Line
    place_guaranteed: Line
    people_ahead: Plural
    wait_unknown: Line
    wait_under_a_minute: Line
    wait_minutes: Plural
    wait_range: Line  # an uncertain wait: "between {low} and {high} minutes"
    offer_help: Line
    how_to_reach_a_person: Line
    person_requested: Line
    ask_how_to_help: Line
    wait_menu: Line
    withheld_number: Line
    place_restored: Line
    closed: Line
    opening_hours: Line
    next_opening_today: Line
    next_opening_tomorrow: Line
    next_opening_later: Line
    goodbye: Line
    reprompt: Line
    reprompt_gave_up: Line
    keypad_menu: Line
    keypad_choice_noted: Line
    secret_not_heard: Line
    verification_by_agent: Line
    # Hand-off to an agent: what the caller hears, and the whisper the agent hears on
    # answering, before the caller is put through.
    connecting_to_agent: Line
    agent_did_not_answer: Line
    call_with_agent_ended: Line
    whisper_verified: Line
    whisper_not_verified: Line
    whisper_reason: Line
    whisper_no_reason: Line
    whisper_waited: Plural
    whisper_caller_gone: Line
    # The queue store (Redis) is down: the caller is asked to hold while the app tries
    # again, hears that their place is still theirs once it is back, and, if it stays down,
    # is passed on to the operator's fallback or asked to call again.
    outage_hold: Line
    outage_resumed: Line
    outage_passed_on: Line
    outage_call_again: Line
    # Callbacks (queues.yml `callbacks`): offered while waiting, the number confirmed or
    # keyed, refusals, the booking (followed by the wait), and what the caller hears when
    # they answer our call; on calling in again with one pending, or while we call them.
    callback_option: Line
    callback_number_check: Line
    callback_no_caller_id: Line
    callback_enter_number: Line
    callback_number_invalid: Line
    callback_number_premium: Line
    callback_number_abroad: Line
    callback_booked: Line
    callback_not_now: Line
    callback_intro: Line
    callback_restored: Line
    callback_calling_now: Line
    whisper_callback: Line
    # Closed: a callback at opening, offered after the hours; booked in the order asked.
    callback_at_opening_option: Line
    callback_booked_at_opening: Line
    # On the callback itself, before the agent rings: a way to say it is no longer needed.
    callback_cancel_option: Line
    callback_cancelled: Line
    # The language menu of a queue with several languages (required there, checked at
    # start): each option in its own language ("For English, press {key}."), the wait
    # menu's way to it ("For another language, press {key}.") and the confirmation after a
    # change of language.
    language_option: Line | None = None
    language_switch: Line | None = None
    language_switched: Line | None = None
    # The whisper on a number with several languages: the caller's ("Speaks {language}."),
    # named as `language_names` of the agent's language says.
    whisper_language: Line | None = None


class TimeFormat(_Strict):
    """How a time of day is said: `other`, or `on_the_hour` (if given) when the minutes are
    zero. Placeholders: `{hour24}`, `{hour12}`, `{minute}` (`{minute:02}` in text gives two
    digits) and `{period}` (the language's `periods`). Written as one line for `other`."""

    PLACEHOLDERS: ClassVar[dict[str, PlaceholderKind]] = {
        "hour24": PlaceholderKind.number,
        "hour12": PlaceholderKind.number,
        "minute": PlaceholderKind.number,
        "period": PlaceholderKind.line,
    }

    on_the_hour: Line | None = None
    other: Line

    @model_validator(mode="before")
    @classmethod
    def _from_one_line(cls, value: Any) -> Any:
        if isinstance(value, dict) and ("other" in value or "on_the_hour" in value):
            return value
        return {"other": value}


class NumberClips(_Strict):
    """Numbers said from clips, composed the way the language says them, as IVRs with sound
    files do (Asterisk's say.c). A number with a clip in `words` is that clip; otherwise
    tens are `words[t]` + `ten` (or `words[t*10]`) then the unit, and hundreds `words[h]` +
    `hundred` (or `words[h*100]`) then the rest. Beyond 999, digits one by one."""

    # Numbers said as one word: at least 0-9, plus whatever the language does not compose
    # (English 11-19 and the tens; Thai/Lao 20; Indonesian 10-19 and 100).
    words: dict[Annotated[int, Field(ge=0, le=999)], Clip]
    # The word for ten after a count of tens (Thai สิบ, Lao ສິບ, Chinese 十, Indonesian puluh).
    ten: Clip | None = None
    hundred: Clip | None = None
    # Units said differently after a ten or a hundred (Thai/Lao: 1 is เอ็ด/ເອັດ, so 21 is
    # twenty + "et" and 101 hundred + "et").
    units_after_tens: dict[Annotated[int, Field(ge=1, le=9)], Clip] = {}
    # Said between a hundred and a lone unit (Chinese 零: 105 一百零五).
    zero_after_hundred: Clip | None = None
    # After a hundred, the tens are counted even for ten (Chinese 110 一百一十, not 一百十).
    count_ten_after_hundred: bool = False


class RecordedReply(_Strict):
    """One of the assistant's replies (its text as the dialogue's domain writes it, with
    `{slot}` placeholders) and its recording; a recording may say a placeholder that holds a
    number (from clips) and leave out the others."""

    text: str = Field(min_length=1)
    say: Line


class Recordings(_Strict):
    """Where a language's clips are, how numbers are said from them, and the assistant's
    replies as recordings (a language without a voice needs them all)."""

    base_url: str
    numbers: NumberClips | None = None
    replies: list[RecordedReply] = []
    # Played for an assistant reply with no recording (else nothing is said for it).
    reply_not_recorded: Line | None = None

    @field_validator("base_url")
    @classmethod
    def _http_directory(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s]+/$", value):
            raise ValueError("must be an http(s) URL Twilio can fetch, ending with /")
        return value


class LanguageSettings(_Strict):
    # The Twilio <Say> voice (app/voices.yml); none where no voice speaks the language (Lao):
    # every line is then a recording.
    voice: str | None = Field(default=None, min_length=1)
    time_format: TimeFormat = TimeFormat(other=Line(text="{hour24:02}:{minute:02}"))
    # The word for the part of the day a time falls in, by the hour it starts (0-23).
    periods: dict[Annotated[int, Field(ge=0, le=23)], Line] = {}
    day_names: Annotated[list[Line], Field(min_length=7, max_length=7)]
    # Twilio speech model for <Gather>. "phone_call" (English and a few other languages)
    # allows speechTimeout="auto" (the default model does not, warning 13335). None: no
    # speechModel is sent and Twilio picks a provider and model that recognise the language
    # (its advice where a model does not, warning 13331); the end of speech is then
    # `speech_end_seconds` of silence.
    speech_model: str | None = "phone_call"
    speech_end_seconds: int = Field(default=2, ge=1, le=5)
    speech_hints: list[str] = []
    human_words: Annotated[list[str], Field(min_length=1)]
    # How reasons for calling (the dialogue's `reason` values) are spoken in the whisper;
    # a reason not listed is spoken as written, underscores as spaces.
    reason_names: dict[str, Line] = {}
    # How languages (codes such as th-TH) are named in this one, for agents: the whisper
    # and the console say which language the caller chose. A language not listed is named
    # by its code.
    language_names: dict[str, Line] = {}
    prompts: Prompts
    recordings: Recordings | None = None

    @property
    def say_language(self) -> str:
        """The <Say language> of this language's voice (for Chinese not its <Gather> code)."""
        if self.voice is None:
            raise ValueError("this language has no voice: its lines are recordings")
        return voices.say_language(self.voice)


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


def _parse_hhmm(value: str) -> time:
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time as HH:MM")
    if value == "24:00":
        return time.max
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class OpeningPeriod(BaseModel):
    model_config = ConfigDict(frozen=True)
    opens: time
    closes: time


def _periods(value: Any) -> list[OpeningPeriod]:
    if not isinstance(value, list):
        raise ValueError('expected a list of ["HH:MM", "HH:MM"] pairs')
    periods = []
    for pair in value:
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise ValueError(f'expected ["HH:MM", "HH:MM"], got {pair!r}')
        opens, closes = (_parse_hhmm(str(p)) for p in pair)
        if opens >= closes:
            raise ValueError(f"opening {pair[0]} is not before closing {pair[1]}")
        periods.append(OpeningPeriod(opens=opens, closes=closes))
    return sorted(periods, key=lambda p: p.opens)


class AssistantSettings(_Strict):
    """How the virtual assistant behaves on the phone."""

    enabled: bool = True
    # A turn (message to Rasa plus reading its slots back) slower than this falls back to
    # the keypad menu for that turn: the caller hears silence meanwhile.
    turn_budget_seconds: float = Field(default=1.5, gt=0, le=5)
    # Speech recognised with less confidence than this is asked again, not acted upon.
    min_speech_confidence: float = Field(default=0.4, ge=0, le=1)
    # Reprompts in a row (silence, not understood) before the caller is left to wait.
    max_reprompts: int = Field(default=2, ge=0, le=5)
    # Wrong secrets before the assistant stops asking and leaves it to the agent.
    max_verification_attempts: int = Field(default=3, ge=1, le=5)
    # Wrong secrets for one account from every number together before only its own numbers
    # may still try (against guessing from many spoofed numbers); lapses after an hour.
    max_verification_failures_per_account: int = Field(default=10, ge=3, le=100)

    @model_validator(mode="after")
    def _one_caller_cannot_lock_an_account(self) -> AssistantSettings:
        if self.max_verification_failures_per_account <= self.max_verification_attempts:
            raise ValueError(
                "max_verification_failures_per_account must be more than "
                "max_verification_attempts, or one stranger locks the customer out"
            )
        return self

    # The keypad menu used while the assistant is unavailable: key -> reason for the call.
    keypad_menu: dict[Annotated[str, Field(pattern=r"^[1-9]$")], str] = {
        "1": "billing",
        "2": "technical",
        "3": "appointment",
    }


class AgentConsoleSettings(_Strict):
    """The agent console: wrap-up choices, how long contacts are remembered, sessions."""

    dispositions: Annotated[list[str], Field(min_length=1)] = [
        "resolved",
        "follow_up_needed",
        "escalated",
        "call_back_requested",
        "no_action_needed",
    ]
    contact_history_days: int = Field(default=90, ge=1, le=3650)
    contacts_shown: int = Field(default=10, ge=1, le=100)
    session_idle_minutes: int = Field(default=30, ge=5, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=24)
    # Wrong passwords within 15 minutes before sign-in is refused: from one client address
    # for that agent id, and from all clients together for it (distributed guessing).
    max_failed_sign_ins: int = Field(default=5, ge=3, le=20)
    max_failed_sign_ins_per_agent: int = Field(default=50, ge=7, le=1000)
    # Passwords checked at once by each web process (a check is ~0.1 s of a core and 32 MiB
    # of scrypt); sign-ins beyond that are asked to retry (503), so callers keep the cores.
    password_checks_at_once: int = Field(default=1, ge=1, le=64)

    @model_validator(mode="after")
    def _one_client_cannot_lock_an_agent_out(self) -> AgentConsoleSettings:
        # A client is refused after its own threshold until its window ends, so within any
        # window it adds at most two windows' worth of failures to the agent's count.
        if self.max_failed_sign_ins_per_agent <= 2 * self.max_failed_sign_ins:
            raise ValueError(
                "max_failed_sign_ins_per_agent must be more than twice max_failed_sign_ins, "
                "so one client alone cannot lock an agent out"
            )
        return self


class OutageSettings(_Strict):
    """What callers get while the queue store (Redis) is down: a short pause and another
    try, `max_attempts` times, then the fallback (a number to dial, or a Twilio queue to
    join), or, with neither, an apology and a hang-up."""

    retry_pause_seconds: int = Field(default=5, ge=1, le=30)
    max_attempts: int = Field(default=12, ge=1, le=60)
    fallback_number: str = ""
    fallback_queue: str = Field(default="", pattern=r"^[A-Za-z0-9 ._-]{0,64}$")

    @field_validator("fallback_number")
    @classmethod
    def _e164_or_empty(cls, value: str) -> str:
        if value and not _E164.match(value):
            raise ValueError(f"{value!r} is not an E.164 number such as +15005550006")
        return value

    @model_validator(mode="after")
    def _one_fallback(self) -> OutageSettings:
        if self.fallback_number and self.fallback_queue:
            raise ValueError("give fallback_number or fallback_queue, not both")
        return self


class OperatorSettings(_Strict):
    company: str = Field(min_length=1)
    timezone: str
    hold_music_url: str = ""
    listen_for_speech_while_waiting: bool = False
    business_hours: dict[Weekday, list[OpeningPeriod]]
    holidays: list[date] = []
    assistant: AssistantSettings = AssistantSettings()
    agent_console: AgentConsoleSettings = AgentConsoleSettings()
    outage: OutageSettings = OutageSettings()
    languages: dict[str, LanguageSettings] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("hold_music_url")
    @classmethod
    def _https_music(cls, value: str) -> str:
        if value and not re.match(r"^https?://", value):
            raise ValueError("must be an http(s) URL Twilio can fetch, or empty")
        return value

    @field_validator("business_hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> dict[str, list[OpeningPeriod]]:
        if not isinstance(value, dict):
            raise ValueError("expected a mapping of weekday to opening periods")
        unknown = set(value) - set(WEEKDAYS)
        if unknown:
            raise ValueError(f"unknown weekday(s) {sorted(unknown)}; use {list(WEEKDAYS)}")
        return {day: _periods(value.get(day) or []) for day in WEEKDAYS}


# A language code as Twilio's <Say>/<Gather> take it (en-US, th-TH, cmn-Hant-TW).
LANGUAGE_CODE_PATTERN = r"^[a-z]{2,3}(-[A-Z][a-z]{3})?-[A-Z]{2}$"
# Keys 1 to 9 choose a language in the language menu (0 is always "a person").
MAX_LANGUAGES_PER_QUEUE = 9


class CallbackSettings(_Strict):
    """Calling a caller back in their turn instead of holding (queues.yml `callbacks`)."""

    enabled: bool = False
    # ISO 3166 codes of the countries whose numbers may be called back; a number keyed
    # without its country code is read as the first's.
    countries: list[str] = Field(default=["US"], min_length=1)
    # How long the caller's phone rings on each try.
    ring_seconds: int = Field(default=30, ge=10, le=60)
    # Tries in all, and the pause between them, when a try reaches a machine, a busy line,
    # nobody, or fails; the caller keeps their place meanwhile (nobody behind them is
    # put through first, and nobody's count goes up), and after the last try they lose it.
    attempts: int = Field(default=3, ge=1, le=10)
    retry_after_seconds: int = Field(default=300, ge=30, le=86_400)
    # A verified caller whose line drops is called back in their turn (on their caller ID)
    # rather than only holding their place for the grace period; calling in again within
    # it still gets the place back.
    offer_when_dropped: bool = False

    @field_validator("countries")
    @classmethod
    def _known_countries(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"not ISO 3166 country codes phonenumbers knows: {unknown}")
        return value


class StaffingStep(BaseModel):
    """From `at` (the operator's time zone) until the day's next step, `agents` on shift."""

    model_config = ConfigDict(frozen=True)
    at: time
    agents: int = Field(ge=0, le=100_000)


def _steps(value: Any) -> list[StaffingStep]:
    if not isinstance(value, list):
        raise ValueError('expected a list of ["HH:MM", agents] steps')
    steps = []
    for item in value:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise ValueError(f'{item!r} is not a ["HH:MM", agents] step')
        at, agents = item
        steps.append(StaffingStep(at=_parse_hhmm(str(at)), agents=agents))
    if any(a.at >= b.at for a, b in pairwise(steps)):
        raise ValueError("each day's steps must be in order of time, each time once")
    return steps


class ServiceLevel(_Strict):
    answer_within_seconds: int = Field(default=20, ge=1, le=3600)
    share: float = Field(default=0.8, gt=0, le=1)


class QueueSettings(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    numbers: list[str] = []
    # The languages callers of this queue are served in, each a key of operator.yml
    # `languages`; the first is the default. With more than one, callers choose on the keypad.
    languages: Annotated[
        list[Annotated[str, Field(pattern=LANGUAGE_CODE_PATTERN)]],
        Field(min_length=1, max_length=MAX_LANGUAGES_PER_QUEUE),
    ]
    grace_period_seconds: int = Field(default=600, ge=0, le=86_400)
    announce_every_seconds: int = Field(default=60, ge=15, le=600)
    # The wait estimate learns talk and wrap-up times from this far back, and callers'
    # patience (seconds waited and hang-ups, summed by the 5 minutes) from the longer
    # window: patience changes slowly and needs more callers to be seen.
    estimate_window_seconds: int = Field(default=1800, ge=60, le=86_400)
    patience_window_seconds: int = Field(default=7200, ge=60, le=86_400)
    # A small team finishes few calls in the window: the newest this many talk times and
    # wrap-ups are used however old, so their spread is still known.
    estimate_keep_durations: int = Field(default=30, ge=0, le=500)
    estimate_min_samples: int = Field(default=3, ge=1, le=1000)
    # The operator page's service level: the share of callers to answer within the time
    # (80/20: 80% within 20 seconds); and callers who hang up sooner than short_abandon_seconds
    # are counted apart, not as abandoned (they never really waited).
    service_level: ServiceLevel = ServiceLevel()
    # Optional: agents planned on shift, by weekday, as ["HH:MM", agents] steps (a
    # workforce-management export). The wait estimate then expects breaks and shift
    # changes instead of assuming today's staffing holds (app/staffing_plan.py).
    staffing_plan: dict[Weekday, list[StaffingStep]] = {}
    short_abandon_seconds: int = Field(default=5, ge=0, le=120)
    # How long an agent's phone rings before the caller goes back to the front.
    agent_ring_seconds: int = Field(default=20, ge=5, le=60)
    callbacks: CallbackSettings = CallbackSettings()

    @field_validator("staffing_plan", mode="before")
    @classmethod
    def _plan(cls, value: Any) -> dict[str, list[StaffingStep]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("expected a mapping of weekday to staffing steps")
        unknown = set(value) - set(WEEKDAYS)
        if unknown:
            raise ValueError(f"unknown weekday(s) {sorted(unknown)}; use {list(WEEKDAYS)}")
        return {day: _steps(steps) for day, steps in value.items()}

    @field_validator("numbers")
    @classmethod
    def _e164(cls, value: list[str]) -> list[str]:
        for number in value:
            if not _E164.match(number):
                raise ValueError(f"{number!r} is not an E.164 number such as +15005550006")
        return value

    @field_validator("languages")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"a language is listed twice: {value}")
        return value

    @model_validator(mode="after")
    def _callbacks_have_a_number_to_call_from(self) -> QueueSettings:
        # A callback is placed from the queue's first number.
        if self.callbacks.enabled and not self.numbers:
            raise ValueError("callbacks.enabled needs at least one of the queue's numbers")
        return self

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def multilingual(self) -> bool:
        """Callers choose their language (a keypad menu) rather than hear the only one."""
        return len(self.languages) > 1


class QueuesFile(_Strict):
    default_queue: str
    queues: list[QueueSettings] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> QueuesFile:
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ValueError(f"queue names must be unique, got {names}")
        if self.default_queue not in names:
            raise ValueError(f"default_queue {self.default_queue!r} is not one of {names}")
        seen: dict[str, str] = {}
        for q in self.queues:
            for number in q.numbers:
                if number in seen:
                    raise ValueError(f"{number} is listed by both {seen[number]} and {q.name}")
                seen[number] = q.name
        return self


@dataclass(frozen=True)
class OperatorConfig:
    """Everything the operator tunes, loaded and cross-checked."""

    operator: OperatorSettings
    queues: QueuesFile

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.operator.timezone)

    def queue_for_number(self, called: str) -> QueueSettings:
        for q in self.queues.queues:
            if called in q.numbers:
                return q
        return self.queue_named(self.queues.default_queue)

    def queue_named(self, name: str) -> QueueSettings:
        queue = self.find_queue(name)
        if queue is None:
            raise KeyError(name)
        return queue

    def find_queue(self, name: str) -> QueueSettings | None:
        """The queue of that name, or None (a name from outside, such as a URL's)."""
        return next((q for q in self.queues.queues if q.name == name), None)

    def language(self, code: str) -> LanguageSettings:
        return self.operator.languages[code]

    def reason_name(self, reason: str, language: str) -> str:
        """ "A billing question" for `billing`, as the operator names reasons to agents."""
        settings = self.operator.languages.get(language)
        named = settings.reason_names.get(reason) if settings else None
        name = named.text if named else reason.replace("_", " ")
        return name[:1].upper() + name[1:]


def _describe(exc: ValidationError, path: Path) -> str:
    lines = [f"{path}: {exc.error_count()} invalid setting(s)"]
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        line = _line_of(path, error["loc"])
        at = f" (line {line})" if line is not None else ""
        lines.append(f"  {where}: {error['msg']}{at}")
    return "\n".join(lines)


def _line_of(path: Path, loc: tuple[int | str, ...]) -> int | None:
    """The line (from 1) of the YAML node at `loc`, or of the nearest mapping or list above
    it that exists (a missing field is reported where it belongs)."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


M = TypeVar("M", bound=BaseModel)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SettingsError(f"{path}:{where}: not valid YAML: {problem}") from exc


def _validate(model: type[M], path: Path) -> M:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, path)) from exc


def load_operator_config(operator_file: Path, queues_file: Path) -> OperatorConfig:
    operator = _validate(OperatorSettings, operator_file)
    _check_languages(operator, operator_file)
    queues = _validate(QueuesFile, queues_file)
    for i, q in enumerate(queues.queues):
        for j, code in enumerate(q.languages):
            if code not in operator.languages:
                raise SettingsError(
                    f"{queues_file}: queues.{i}.languages.{j}: {code!r} has no prompts in "
                    f"{operator_file} (languages: {sorted(operator.languages)})"
                )
            if q.multilingual:
                _check_language_menu_prompts(operator, code, operator_file)
    return OperatorConfig(operator=operator, queues=queues)


def _check_languages(operator: OperatorSettings, path: Path) -> None:
    # What pydantic cannot see from one field: voice and language together, placeholders,
    # and recordings for every line a language without a voice can say.
    from app.language_check import language_problems

    problems = [
        problem
        for code, lang in operator.languages.items()
        for problem in language_problems(code, lang)
    ]
    if len(problems) == 1:
        raise SettingsError(f"{path}: {problems[0]}")
    if problems:
        raise SettingsError("\n  ".join([f"{path}: {len(problems)} invalid setting(s)", *problems]))


# Needed in every language of a queue that offers the language menu (optional elsewhere,
# so a language served alone needs no menu words).
LANGUAGE_MENU_PROMPTS = ("language_option", "language_switch", "language_switched")


def _check_language_menu_prompts(
    operator: OperatorSettings, code: str, operator_file: Path
) -> None:
    prompts = operator.languages[code].prompts
    for field in LANGUAGE_MENU_PROMPTS:
        if getattr(prompts, field) is None:
            raise SettingsError(
                f"{operator_file}: languages.{code}.prompts.{field}: missing (a queue offers "
                f"{code} in its language menu)"
            )


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = ["environment: invalid setting(s)"]
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]).upper() or "settings"
            lines.append(f"  {where}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from exc
