"""The stand-in's TwiML parser and its phones' behaviours, on their own."""

from __future__ import annotations

import pytest
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from standin import twiml
from standin.phones import ANSWERED, BUSY, NO_ANSWER, Answer, PhoneBehaviour


def parse_one(response: VoiceResponse) -> twiml.Verb:
    (verb,) = twiml.parse(str(response))
    return verb


def test_dial_with_a_client_noun_built_by_twilio_python() -> None:
    response = VoiceResponse()
    dial = Dial(
        action="/voice/dial-result?agent=alice",
        method="POST",
        timeout=20,
        answer_on_bridge=True,
        caller_id="+15005550006",
    )
    dial.client("alice", url="/voice/whisper?agent=alice", method="POST")
    response.append(dial)
    verb = parse_one(response)
    assert isinstance(verb, twiml.Dial)
    assert (verb.action, verb.timeout, verb.answer_on_bridge, verb.caller_id) == (
        "/voice/dial-result?agent=alice",
        20,
        True,
        "+15005550006",
    )
    assert verb.noun == twiml.DialNoun("Client", "client:alice", "/voice/whisper?agent=alice")


def test_client_identity_form_number_and_sip_nouns() -> None:
    identity = parse_one_text(
        "<Dial><Client><Identity>bob</Identity><Parameter name='a' value='b'/></Client></Dial>"
    )
    assert identity.noun.address == "client:bob"
    number = parse_one_text(
        '<Dial><Number url="/w" statusCallback="/leg" statusCallbackEvent="answered completed">'
        "+15005550101</Number></Dial>"
    )
    assert number.noun.address == "+15005550101"
    assert number.noun.status_callback_event == {"answered", "completed"}
    sip = parse_one_text("<Dial><Sip>sip:carol@agents.example.com</Sip></Dial>")
    assert (sip.noun.kind, sip.noun.address) == ("Sip", "sip:carol@agents.example.com")
    bare = parse_one_text("<Dial>+15005550101</Dial>")
    assert (bare.noun.kind, bare.timeout, bare.action) == ("Number", 30, None)


def parse_one_text(inner: str) -> twiml.Dial:
    (verb,) = twiml.parse(f"<Response>{inner}</Response>")
    assert isinstance(verb, twiml.Dial)
    return verb


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("<Dial><Queue>support</Queue></Dial>", "not supported"),
        ("<Dial><Number>+1500</Number><Number>+1501</Number></Dial>", "one party"),
        ("<Dial></Dial>", "names nobody"),
        ("<Dial><Client>  </Client></Dial>", "names nobody"),
        ('<Gather numDigits="0"/>', "at least 1"),
        ('<Gather method="PUT"/>', "GET or POST"),
        ("<Gather><Dial>+1500</Dial></Gather>", "cannot be nested"),
        ("<Enqueue>support</Enqueue>", "unsupported verb"),
    ],
)
def test_what_the_stand_in_cannot_play_is_an_error(document: str, problem: str) -> None:
    with pytest.raises(twiml.TwimlError, match=problem):
        twiml.parse(f"<Response>{document}</Response>")


def test_gather_attributes() -> None:
    response = VoiceResponse()
    gather = Gather(
        action="/voice/secret",
        method="GET",
        input="dtmf",
        num_digits=4,
        finish_on_key="*",
        timeout=10,
        action_on_empty_result=True,
    )
    gather.say("Key in your PIN")
    gather.play("https://example.test/beep.mp3", loop=0)
    response.append(gather)
    verb = parse_one(response)
    assert isinstance(verb, twiml.Gather)
    assert (verb.method, verb.num_digits, verb.finish_on_key, verb.timeout) == ("GET", 4, "*", 10)
    assert verb.action_on_empty_result and verb.input == {"dtmf"}
    assert verb.children == (
        twiml.Say("Key in your PIN"),
        twiml.Play("https://example.test/beep.mp3", loop=0),
    )


@pytest.mark.parametrize(
    ("text", "answer", "after"),
    [
        ("now", Answer.now, 0.0),
        ("after 1s", Answer.after, 1.0),
        ("After 2.5 seconds", Answer.after, 2.5),
        ("never", Answer.never, 0.0),
        ("busy", Answer.busy, 0.0),
        ("failed", Answer.failed, 0.0),
    ],
)
def test_phone_behaviours_parse(text: str, answer: Answer, after: float) -> None:
    behaviour = PhoneBehaviour.parse(text)
    assert (behaviour.answer, behaviour.after_seconds) == (answer, after)


@pytest.mark.parametrize("text", ["sometimes", "after", "after -1s", "after 3 minutes"])
def test_unknown_phone_behaviours_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="answer must be"):
        PhoneBehaviour.parse(text)


def test_a_phone_that_answers_after_the_dial_timeout_does_not_answer() -> None:
    assert PhoneBehaviour.parse("after 5s").ring(timeout=10) == (ANSWERED, 5.0)
    assert PhoneBehaviour.parse("after 15s").ring(timeout=10) == (NO_ANSWER, 10.0)
    assert PhoneBehaviour.parse("never").ring(timeout=20) == (NO_ANSWER, 20.0)
    assert PhoneBehaviour.parse("busy").ring(timeout=20) == (BUSY, 0.0)


def test_a_recorded_sentence_is_read_from_the_transcript_before_its_clips() -> None:
    document = (
        "<Response><!-- a note Twilio ignores -->"
        "<!-- said (3 clips): ມີ ສາມ ຄົນ --><Play>a.wav</Play><Play>3.wav</Play>"
        "<Play>b.wav</Play><Play>music.mp3</Play>"
        "<Gather><!-- said (1 clip): ກົດ 1 --><Play>menu.wav</Play><Pause length='2'/></Gather>"
        "</Response>"
    )
    first, second, third, music, gather = twiml.parse(document)
    assert [first, second, third] == [
        twiml.Play("a.wav", transcript="ມີ ສາມ ຄົນ"),
        twiml.Play("3.wav", transcript=""),
        twiml.Play("b.wav", transcript=""),
    ]
    assert music == twiml.Play("music.mp3")  # not part of the sentence: no transcript
    assert isinstance(gather, twiml.Gather)
    assert gather.children == (twiml.Play("menu.wav", transcript="ກົດ 1"), twiml.Pause(2))
