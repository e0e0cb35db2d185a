"""The demo's recorded clips (`/voice/recordings/...`), for languages without a Twilio voice.

Twilio fetches a `<Play>`'s audio from its URL; an operator points `recordings.base_url` at
their own recordings (any https server). The demo ships placeholder tones for Lao under
demo/recordings, served here by the voice web process so the demo works without one.
"""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory

from app.settings import DEMO_DIR

RECORDINGS_DIR = DEMO_DIR / "recordings"

bp = Blueprint("recordings", __name__, url_prefix="/voice/recordings")


@bp.get("/<path:name>")
def clip(name: str) -> Response:
    # send_from_directory refuses paths that leave the directory (404).
    return send_from_directory(RECORDINGS_DIR, name, max_age=3600)
