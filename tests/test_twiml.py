"""The renderer: reply values become TwiML, checked by parsing the XML (no app, no Redis)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app import listening, twiml
from app.agents import Reach
from app.settings import QUEUE_DIR, load_operator_config
from app.voice_reply import GoTo, HangUp, Pause, Play, Reply, RingAgent, Route, Say, Voice

CONFIG = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")
ENGLISH = Voice("en-US", CONFIG.language("en-US"))


def document(reply: Reply) -> ET.Element:
    root = ET.fromstring(twiml.render(reply))
    assert root.tag == "Response"
    return root


def test_sentences_are_said_in_the_calls_language_and_voice() -> None:
    root = document(Reply((Say("Hello."), GoTo(Route.wait)), ENGLISH))
    say, redirect = list(root)
    assert (say.text, say.get("language"), say.get("voice")) == (
        "Hello.",
        "en-US",
        ENGLISH.settings.voice,
    )
    assert (redirect.tag, redirect.text) == ("Redirect", "/voice/wait")


def test_an_open_question_listens_for_speech_with_hints_and_reports_silence() -> None:
    gather = document(Reply((listening.for_answer((Say("How can I help?"),)),), ENGLISH))[0]
    assert gather.get("action") == "/voice/turn"
    assert set(gather.get("input", "").split()) == {"speech", "dtmf"}
    assert gather.get("language") == "en-US"
    assert gather.get("speechTimeout") == "auto"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("hints") == ", ".join(ENGLISH.settings.speech_hints)
    assert [child.text for child in gather] == ["How can I help?"]


@pytest.mark.parametrize("code", ["th-TH", "lo-LA", "id-ID", "cmn-Hant-TW", "cmn-Hans-CN"])
def test_speech_in_a_language_without_the_phone_call_model_lets_twilio_choose_the_model(
    code: str,
) -> None:
    voice = Voice(code, CONFIG.language(code))
    gather = document(Reply((listening.for_answer(()),), voice))[0]
    # The <Gather> code (cmn-Hant-TW writes Traditional characters), no speechModel, and a
    # timeout in seconds ("auto" is refused by the default model).
    assert gather.get("language") == code
    assert gather.get("speechModel") is None
    assert gather.get("speechTimeout") == str(voice.settings.speech_end_seconds)


def test_english_speech_uses_the_phone_call_model() -> None:
    gather = document(Reply((listening.for_answer(()),), ENGLISH))[0]
    assert (gather.get("speechModel"), gather.get("speechTimeout")) == ("phone_call", "auto")


def test_a_keyed_secret_listens_for_keys_only() -> None:
    gather = document(Reply((listening.for_secret((), spoken=False),), ENGLISH))[0]
    assert (gather.get("action"), gather.get("input")) == ("/voice/secret", "dtmf")
    assert gather.get("finishOnKey") == "#"
    assert gather.get("language") is None and gather.get("hints") is None


def test_hold_music_or_a_pause_plays_inside_the_wait_loops_gather() -> None:
    for sound, tag in ((Play("https://example.test/music.mp3"), "Play"), (Pause(20), "Pause")):
        gather = document(Reply((listening.while_waiting((sound,), speech=False),)))[0]
        assert [child.tag for child in gather] == [tag]
        assert gather.get("numDigits") == "1" and gather.get("input") == "dtmf"


def test_ringing_an_agent_carries_their_id_in_the_whisper_and_result_urls() -> None:
    reach = Reach(client="alice")
    dial = document(Reply((RingAgent("alice", reach, 20),)))[0]
    assert dial.tag == "Dial"
    assert dial.get("action") == "/voice/dial-result?agent=alice"
    assert (dial.get("timeout"), dial.get("answerOnBridge")) == ("20", "true")
    client = dial[0]
    assert (client.tag, client.text) == ("Client", "alice")
    assert client.get("url") == "/voice/whisper?agent=alice"


def test_absolute_urls_for_the_rest_api_are_built_from_the_public_origin() -> None:
    url = twiml.url("https://voice.example.com", Route.connect, agent_id="a.b-c")
    assert url == "https://voice.example.com/voice/connect?agent=a.b-c"


def test_a_reply_with_one_verb_is_still_a_whole_document() -> None:
    assert [child.tag for child in document(Reply((HangUp(),)))] == ["Hangup"]


def test_speaking_without_the_calls_voice_is_refused() -> None:
    with pytest.raises(ValueError, match="needs the call's voice"):
        twiml.render(Reply((Say("Hello."),)))


def test_a_recorded_sentence_is_its_transcript_in_a_comment_then_its_clips() -> None:
    played = Say("ມີ -- ສາມ ຄົນ-", recording=("https://clips.test/a.wav", "https://clips.test/3.wav"))
    document = twiml.render(Reply((played,), ENGLISH))
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    comment, first, second = list(ET.fromstring(document, parser=parser))
    match = twiml.TRANSCRIPT_COMMENT.match(comment.text or "")
    # A comment may hold no "--": the transcript is kept readable, and the XML valid.
    assert match is not None and match.groups() == ("2", "ມີ - - ສາມ ຄົນ-")
    assert [(first.tag, first.text), (second.tag, second.text)] == [
        ("Play", "https://clips.test/a.wav"),
        ("Play", "https://clips.test/3.wav"),
    ]
    # Twilio (and any parser that drops comments) sees only the clips.
    assert [child.tag for child in ET.fromstring(document)] == ["Play", "Play"]


@pytest.mark.parametrize("text", ["ສະບາຍດີ", ""])
def test_a_language_without_a_voice_never_renders_a_say(
    text: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A sentence with nothing recorded to play (a reason the operator did not record, or
    text that slipped past the recordings) is left out and logged: silence, not a <Say>
    in a language no voice speaks, nor a 500 that would end the call."""
    lao = Voice("lo-LA", CONFIG.language("lo-LA"))
    root = document(Reply((Say(text), GoTo(Route.wait)), lao))
    assert [child.tag for child in root] == ["Redirect"]
    assert "nothing recorded to play" in caplog.text


def test_a_reply_is_rendered_once_and_kept_by_value() -> None:
    """A wait-loop round is the same value for every caller of a language: the second
    caller's document is the first's, not built again; a different reply is its own."""
    twiml.render.cache_clear()
    first = twiml.render(Reply((Say("Still waiting."), GoTo(Route.wait)), ENGLISH))
    again = twiml.render(Reply((Say("Still waiting."), GoTo(Route.wait)), ENGLISH))
    assert again is first and twiml.render.cache_info().hits == 1
    other = twiml.render(Reply((Say("Nearly there."), GoTo(Route.wait)), ENGLISH))
    assert "Nearly there." in other and "Still waiting." not in other
