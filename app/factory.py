"""The Flask application factory (`app.create_app`)."""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta
from typing import Any

import redis
from flask import Flask, Response, jsonify

from app import logs
from app.config_reload import ConfigReload
from app.production_checks import recording_problems
from app.settings import (
    AppEnv,
    Settings,
    SettingsError,
    WebRole,
    load_operator_config,
    load_settings,
)
from app.twilio_webhook import MAX_BODY_BYTES


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment and the operator's YAML (a clear error
    if either is invalid), Redis and the queue scripts, the blueprints.

    `test_config` may carry SETTINGS (a Settings) and CLOCK (a callable returning epoch
    seconds) so tests choose the environment and move time.
    """
    test_config = test_config or {}
    settings: Settings = test_config.get("SETTINGS") or load_settings()
    operator_config = load_operator_config(settings.operator_file, settings.queues_file)
    if settings.app_env is AppEnv.production:
        problems = recording_problems(operator_config.operator, settings.operator_file)
        if problems:
            raise SettingsError("\n".join(problems))
    logs.configure()
    # twilio-python logs every REST request's headers at INFO (the worker's calls).
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

    app = Flask("app")  # the package's name and folder, as when this lived in app/__init__
    console = operator_config.operator.agent_console
    app.config.update(
        SETTINGS=settings,
        OPERATOR_CONFIG=operator_config,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        CLOCK=time.time,
        # Production requires SECRET_KEY; elsewhere a key per process is enough (one
        # process in tests; scripts/run writes one to .env for its several workers).
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_NAME="agent_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=console.session_max_hours),
    )
    app.config.update(test_config)

    from app import bootstrap
    from app.web import agent, health, operator, recordings, voice

    bootstrap.init_app(app)
    # The operator's YAML taken up on change, validated first (app/config_reload.py).
    reload = ConfigReload(settings.operator_file, settings.queues_file)
    app.extensions["config_reload"] = reload

    @app.before_request
    def _take_up_changed_configuration() -> None:
        reload.check(app)

    app.register_error_handler(redis.RedisError, _queue_unavailable)
    app.register_blueprint(health.bp)
    if settings.web_role in (WebRole.all, WebRole.voice):
        app.register_blueprint(voice.bp)
        if settings.app_env is AppEnv.development:
            app.register_blueprint(recordings.bp)  # the demo's placeholder tones
    if settings.web_role in (WebRole.all, WebRole.console):
        app.register_blueprint(agent.bp)
        app.register_blueprint(operator.bp)
    return app


def _queue_unavailable(error: redis.RedisError) -> tuple[Response, int]:
    # The console, the operator page and /healthz: a JSON 503 for people and monitors. The
    # voice webhooks never get here: Twilio would play its application error and drop the
    # caller, so the voice blueprint answers TwiML that keeps the line (app/web/voice.py).
    logging.getLogger(__name__).error("Redis unavailable: %s", error)
    return jsonify(error="queue store unavailable"), 503
