"""What the stand-in reads from the environment (or `.env`): the same variables the app reads,
only those that say who the Twilio account is and where things listen.

Read here rather than through the app's settings: the stand-in reaches the product only over
HTTP, as Twilio does, so it never imports `app`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Without TWILIO_AUTH_TOKEN and TWILIO_ACCOUNT_SID (development), the app signs and checks
# with these; the stand-in must use the very same (tests/standin/test_simulator_cli.py checks).
DEVELOPMENT_AUTH_TOKEN = "development-token-not-a-secret"
DEVELOPMENT_ACCOUNT_SID = "AC" + "0" * 32


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable."""


class StandInSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    app_env: Literal["production", "development"] = "production"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    public_base_url: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    port: int = 8000

    @field_validator("public_base_url", "twilio_api_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _identity_in_production(self) -> StandInSettings:
        if self.app_env == "production":
            names = ("twilio_account_sid", "twilio_auth_token", "public_base_url")
            missing = [name.upper() for name in names if not getattr(self, name)]
            if missing:
                raise ValueError(
                    f"{', '.join(missing)} must be set in production (APP_ENV=production)"
                )
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
        """The public origin Twilio signs over (the app rebuilds signed URLs from it)."""
        return self.public_base_url or f"http://127.0.0.1:{self.port}"


def load_settings() -> StandInSettings:
    try:
        return StandInSettings()
    except ValidationError as exc:
        lines = ["environment: invalid setting(s)"]
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]).upper() or "settings"
            lines.append(f"  {where}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from exc
