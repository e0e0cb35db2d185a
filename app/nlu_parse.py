"""`scripts/nlu-parse LANGUAGE`: operators' check of phrasing against the running dialogue.

One utterance a line on stdin; one JSON object a line on stdout:
`{"text", "language", "intent", "confidence", "entities", "normalized_text"}`. Each line
takes the way a caller's words take: the app's preparation (plain text, secrets said aloud
taken out), then the running Rasa's model (digits and Chinese script normalised, words
segmented for the language's script, the intent classified, below the threshold
`nlu_fallback`). One model serves every language (dialogue/README.md), so LANGUAGE picks no
other model; it is checked against the dialogue's languages so a typo is not silently
answered in English. Nothing is kept: no conversation is started.

Exit status: 0; 2 for an unknown language or usage (the known ones are listed); 1 when the
dialogue cannot be reached or refuses (not running, wrong token, no model).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import requests
import yaml
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.assistant import caller_message
from app.dialogue_client import RasaClient

LANGUAGES_FILE = Path(__file__).resolve().parent.parent / "dialogue" / "languages.yml"
USAGE = "usage: scripts/nlu-parse LANGUAGE < utterances (one a line)"


class DialogueConnection(BaseSettings):
    """RASA_URL and RASA_TOKEN, from the environment or `.env`, as the web app reads them."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""


def dialogue_languages() -> list[str]:
    data = yaml.safe_load(LANGUAGES_FILE.read_text(encoding="utf-8"))
    return list(data["languages"])


def main(argv: list[str], stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    languages = dialogue_languages()
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(f"{USAGE}\nLANGUAGE: one of {', '.join(languages)}", file=sys.stderr)
        return 2
    language = argv[0]
    if language not in languages:
        print(
            f"nlu-parse: unknown language {language!r}; the dialogue's languages are: "
            f"{', '.join(languages)}",
            file=sys.stderr,
        )
        return 2
    connection = DialogueConnection()
    client = RasaClient(connection.rasa_url, connection.rasa_token)
    try:
        for line in stdin:
            text = line.rstrip("\n")
            understood = client.understand(caller_message(text))
            result = {
                "text": text,
                "language": language,
                "intent": understood.intent,
                "confidence": round(understood.confidence, 4),
                "entities": understood.entities,
                "normalized_text": understood.normalized_text,
            }
            print(json.dumps(result, ensure_ascii=False), file=stdout, flush=True)
    except requests.ConnectionError:
        print(
            f"nlu-parse: the dialogue is not running at {connection.rasa_url} (RASA_URL): "
            "start the stack with scripts/run, or set RASA_URL to where it runs",
            file=sys.stderr,
        )
        return 1
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        hint = {
            401: "RASA_TOKEN is not the dialogue's token",
            403: "RASA_TOKEN is not the dialogue's token",
            409: "the dialogue has no model loaded yet",
        }.get(status if isinstance(status, int) else 0, "see the rasa process's log")
        print(f"nlu-parse: the dialogue answered {status}: {hint}", file=sys.stderr)
        return 1
    except requests.Timeout:
        print(f"nlu-parse: the dialogue at {connection.rasa_url} did not answer", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
