"""Sentences played from recordings where no voice speaks the language (Lao): the clips,
their transcript in the TwiML, the assistant's replies, and the start-up checks that every
sentence a caller can hear has its clips."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import datetime, time
from pathlib import Path

import pytest
import yaml

from app import listening, speech, twiml
from app.recordings import clips_of
from app.settings import (
    QUEUE_DIR,
    LanguageSettings,
    Line,
    RecordedReply,
    SettingsError,
    load_operator_config,
)
from app.voice_reply import Reply, Say, Voice
from app.wait_estimate import WaitEstimate
from app.web.recordings import RECORDINGS_DIR

OPERATOR = QUEUE_DIR / "operator.yml"
QUEUES = QUEUE_DIR / "queues.yml"
DOMAIN = QUEUE_DIR.parent / "dialogue" / "domain.yml"
CONFIG = load_operator_config(OPERATOR, QUEUES)
LAO = CONFIG.language("lo-LA")
assert LAO.recordings is not None
BASE = LAO.recordings.base_url


def transcripts_and_clips(document: str) -> list[tuple[str, list[str]]]:
    """Each played sentence of a TwiML document (or Gather): its transcript and clips."""
    root = ET.fromstring(document, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    sentences: list[tuple[str, list[str]]] = []
    for element in root.iter():
        if element.tag is ET.Comment:
            match = twiml.TRANSCRIPT_COMMENT.match(element.text or "")
            assert match, element.text
            sentences.append((match.group(2), []))
        elif element.tag == "Play":
            sentences[-1][1].append(element.text or "")
    return sentences


def test_a_count_is_played_from_the_sentences_clips_and_number_clips() -> None:
    said = speech.people_ahead_sentence(LAO, "lo-LA", 21)
    assert said.text == "ມີ ຊາວ ເອັດ ຄົນລໍຖ້າຢູ່ກ່ອນທ່ານເຈົ້າ."
    assert said.recording == (
        BASE + "prompts/people_ahead.other-1.wav",
        BASE + "numbers/20.wav",
        BASE + "numbers/1-after-tens.wav",
        BASE + "prompts/people_ahead.other-2.wav",
    )


def test_the_twiml_carries_the_transcript_before_the_clips_even_inside_a_gather() -> None:
    ten_minutes = speech.wait_sentence(LAO, "lo-LA", WaitEstimate(660, 600, 720))
    question = listening.for_answer((ten_minutes,))
    document = twiml.render(Reply((question,), Voice("lo-LA", LAO)))
    gather = ET.fromstring(document)[0]
    assert gather.tag == "Gather" and gather.get("language") == "lo-LA"
    assert not gather.findall("Say")  # nothing for a voice that cannot speak Lao
    assert transcripts_and_clips(document) == [
        (
            "ຕ້ອງລໍຖ້າປະມານ ສິບ ນາທີເຈົ້າ.",
            [
                BASE + "prompts/wait_minutes.other-1.wav",
                BASE + "numbers/10.wav",
                BASE + "prompts/wait_minutes.other-2.wav",
            ],
        )
    ]


def test_a_day_and_a_time_are_played_in_laos_word_order() -> None:
    monday_morning = datetime(2026, 11, 30, 8, 30)
    friday_evening = datetime(2026, 11, 27, 21, 0)
    said = speech.next_opening_sentence(LAO, friday_evening, monday_morning)
    assert said.text == "ພວກເຮົາຈະເປີດອີກຄັ້ງ ວັນຈັນ ເວລາ ແປດ ໂມງ ສາມ ສິບ ນາທີ ເຈົ້າ."
    assert said.recording[1] == BASE + "days/monday.wav"


def test_the_whisper_in_lao_names_the_reason_from_its_clip_and_never_says_a_name() -> None:
    said = speech.whisper_sentences(
        LAO, "lo-LA", verified_name="Maria Lopez", reason="billing", waited_seconds=185
    )
    assert [s.text for s in said] == [
        "ລູກຄ້າຢືນຢັນຕົວຕົນແລ້ວ.",
        "ໂທມາກ່ຽວກັບ ການສອບຖາມກ່ຽວກັບໃບບິນ",
        "ລໍຖ້າ ສາມ ນາທີ.",
    ]
    assert all(s.recording for s in said)


def with_replies(*replies: RecordedReply, fallback: object = None) -> LanguageSettings:
    assert LAO.recordings is not None
    update: dict[str, object] = {"replies": list(replies)}
    if fallback is not None:
        update["reply_not_recorded"] = Line.model_validate(fallback)
    return LAO.model_copy(update={"recordings": LAO.recordings.model_copy(update=update)})


WAIT_REPLY = RecordedReply.model_validate(
    {
        "text": "ທ່ານຈະລໍຖ້າປະມານ {wait_minutes} ນາທີ, ມີ {people_ahead} ຄົນຢູ່ກ່ອນທ່ານ.",
        "say": [
            {"clip": "replies/wait-1.wav", "text": "ທ່ານຈະລໍຖ້າປະມານ"},
            "{wait_minutes}",
            {"clip": "replies/wait-2.wav", "text": "ນາທີ."},
        ],
    }
)


def test_the_assistants_lao_reply_is_played_from_its_recording_with_its_numbers() -> None:
    lang = with_replies(WAIT_REPLY)
    reply = "ທ່ານຈະລໍຖ້າປະມານ 15 ນາທີ, ມີ 4 ຄົນຢູ່ກ່ອນທ່ານ."
    (said,) = speech.assistant_sentences(lang, [reply])
    assert said.text == "ທ່ານຈະລໍຖ້າປະມານ ສິບ ຫ້າ ນາທີ."
    assert said.recording[0] == BASE + "replies/wait-1.wav"


def test_a_lao_reply_with_no_recording_is_never_said_by_a_voice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.speech"):
        assert speech.assistant_sentences(with_replies(WAIT_REPLY), ["ສະບາຍດີ"]) == ()
    assert "has no recording" in caplog.text
    fallback = {"clip": "replies/sorry.wav", "text": "ຂໍອະໄພ"}
    (said,) = speech.assistant_sentences(with_replies(WAIT_REPLY, fallback=fallback), ["ສະບາຍດີ"])
    assert said == Say("ຂໍອະໄພ", recording=(BASE + "replies/sorry.wav",))


def test_voiced_languages_say_the_assistants_replies_as_written() -> None:
    english = CONFIG.language("en-US")
    assert speech.assistant_sentences(english, ["Hello."]) == (Say("Hello."),)


def lao_variations(domain: Path) -> list[str]:
    """The texts of the dialogue's response variations conditioned on the Lao language."""
    data = yaml.safe_load(domain.read_text(encoding="utf-8"))
    texts = []
    for variations in (data.get("responses") or {}).values():
        for variation in variations:
            conditions = variation.get("condition") or []
            lao = {"type": "slot", "name": "language", "value": "lo-LA"}
            if any(lao.items() <= c.items() for c in conditions) and variation.get("text"):
                texts.append(" ".join(variation["text"].split()))
    return texts


def unrecorded(texts: list[str], lang: LanguageSettings) -> list[str]:
    assert lang.recordings is not None
    recorded = {" ".join(reply.text.split()) for reply in lang.recordings.replies}
    return [text for text in texts if text not in recorded]


def test_every_lao_reply_of_the_dialogue_has_a_recording() -> None:
    texts = lao_variations(DOMAIN)
    if not texts:
        pytest.skip("dialogue/domain.yml has no lo-LA response variations yet")
    assert unrecorded(texts, LAO) == []


def test_the_reply_check_finds_a_lao_variation_without_a_recording(tmp_path: Path) -> None:
    domain = tmp_path / "domain.yml"
    condition = [{"type": "slot", "name": "language", "value": "lo-LA"}]
    domain.write_text(
        yaml.safe_dump(
            {
                "responses": {
                    "utter_greet": [
                        {"text": "Hello."},
                        {"text": "ສະບາຍດີ", "condition": condition},
                    ],
                    "utter_wait": [{"text": WAIT_REPLY.text, "condition": condition}],
                }
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    assert unrecorded(lao_variations(domain), with_replies(WAIT_REPLY)) == ["ສະບາຍດີ"]


def test_every_clip_the_demo_plays_is_served() -> None:
    served = "/voice/recordings/"
    for code, lang in CONFIG.operator.languages.items():
        if lang.recordings is None or served not in lang.recordings.base_url:
            continue
        folder = RECORDINGS_DIR / lang.recordings.base_url.split(served, 1)[1]
        missing = sorted(
            {c.clip for c in clips_of(lang)}
            - {str(p.relative_to(folder)) for p in folder.rglob("*.wav")}
        )
        assert missing == [], f"{code}: run scripts/placeholder-recordings"


def test_the_voice_process_serves_the_demo_clips(client) -> None:
    response = client.get("/voice/recordings/lo-LA/numbers/3.wav")
    assert response.status_code == 200 and response.data[:4] == b"RIFF"
    response.close()
    assert client.get("/voice/recordings/../../queue/operator.yml").status_code == 404


# -- the start-up check ---------------------------------------------------------------------


def changed(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(OPERATOR.read_text(encoding="utf-8"))
    change(data["languages"])
    path = tmp_path / "operator.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def problems(tmp_path: Path, change) -> str:
    with pytest.raises(SettingsError) as error:
        load_operator_config(changed(tmp_path, change), QUEUES)
    message = str(error.value)
    assert message.startswith(str(tmp_path / "operator.yml"))
    return message


def test_a_lao_sentence_left_as_text_stops_the_start(tmp_path: Path) -> None:
    def as_text(languages: dict) -> None:
        languages["lo-LA"]["prompts"]["goodbye"] = "ຂອບໃຈທີ່ໂທມາ. ລາກ່ອນ."

    assert (
        "languages.lo-LA.prompts.goodbye: no recording (lo-LA has no voice, so every line is "
        "played from clips)"
    ) in problems(tmp_path, as_text)


def test_a_missing_number_clip_stops_the_start(tmp_path: Path) -> None:
    def without_four(languages: dict) -> None:
        del languages["lo-LA"]["recordings"]["numbers"]["words"][4]

    message = problems(tmp_path, without_four)
    assert (
        "languages.lo-LA.recordings.numbers: no clip for 4 in numbers.words (needed for 4, 14"
    ) in message


def test_a_missing_day_clip_stops_the_start(tmp_path: Path) -> None:
    def monday_as_text(languages: dict) -> None:
        languages["lo-LA"]["day_names"][0] = "ວັນຈັນ"

    assert "languages.lo-LA.day_names.0: no recording" in problems(tmp_path, monday_as_text)


def test_a_name_cannot_be_played_from_clips(tmp_path: Path) -> None:
    def with_name(languages: dict) -> None:
        whisper = languages["lo-LA"]["prompts"]["whisper_verified"]
        languages["lo-LA"]["prompts"]["whisper_verified"] = [whisper, "{name}"]

    assert (
        "languages.lo-LA.prompts.whisper_verified: {name} is free text and cannot be said "
        "from clips"
    ) in problems(tmp_path, with_name)


def test_a_clip_without_its_transcript_stops_the_start(tmp_path: Path) -> None:
    def no_transcript(languages: dict) -> None:
        languages["lo-LA"]["prompts"]["goodbye"] = {"clip": "prompts/goodbye.wav"}

    message = problems(tmp_path, no_transcript)
    assert "languages.lo-LA.prompts.goodbye.text: Field required" in message


def test_a_mistyped_placeholder_in_a_translation_stops_the_start(tmp_path: Path) -> None:
    def typo(languages: dict) -> None:
        languages["id-ID"]["prompts"]["people_ahead"]["other"] = "Ada {cuont} orang di depan Anda."

    assert (
        "languages.id-ID.prompts.people_ahead.other: {cuont} is not a placeholder of this "
        "sentence (placeholders: {count})"
    ) in problems(tmp_path, typo)


def test_an_unclosed_brace_in_a_translation_stops_the_start(tmp_path: Path) -> None:
    def unclosed(languages: dict) -> None:
        languages["cmn-Hans-CN"]["prompts"]["closed"] = "抱歉 {company现在不在服务时间。"

    assert "languages.cmn-Hans-CN.prompts.closed: " in problems(tmp_path, unclosed)


def test_a_strftime_time_format_stops_the_start(tmp_path: Path) -> None:
    def strftime(languages: dict) -> None:
        languages["id-ID"]["time_format"] = "%H.%M"

    assert "languages.id-ID.time_format: says no hour" in problems(tmp_path, strftime)


def test_times_in_text_are_filled_from_their_template() -> None:
    assert speech.spoken_time(CONFIG.language("en-US"), time(14, 30)) == "2:30 PM"


def test_a_voiced_language_may_play_a_recorded_line_once_it_says_where_clips_are(
    tmp_path: Path,
) -> None:
    branded = {"clip": "https://clips.example.test/en/greeting.mp3", "text": "Hi, this is Acme."}

    def recorded_greeting(languages: dict) -> None:
        languages["en-US"]["prompts"]["greeting"] = branded

    assert (
        "languages.en-US.recordings: some lines are recorded, but there is no recordings section"
    ) in problems(tmp_path, recorded_greeting)

    def with_recordings(languages: dict) -> None:
        recorded_greeting(languages)
        languages["en-US"]["recordings"] = {"base_url": "https://clips.example.test/en/"}

    config = load_operator_config(changed(tmp_path, with_recordings), QUEUES)
    english = config.language("en-US")
    said = speech.sentence(english, english.prompts.greeting, company="Acme")
    assert said == Say(
        "Hi, this is Acme.", recording=("https://clips.example.test/en/greeting.mp3",)
    )
