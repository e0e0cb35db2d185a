"""Queue-aware virtual assistant.

Importing the package imports nothing else: gunicorn's master reads app.gunicorn_config
before it forks, and a gevent worker can patch the standard library's sockets and locks only
for the modules imported after that (redis-py, requests, twilio), so those must not come in
with the package. The factory itself is app.factory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app (app.factory.create_app)."""
    from app.factory import create_app as build

    return build(test_config)
