"""Operators tune the product in YAML: mistakes stop the start with the file and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app import create_app
from app.production_checks import recording_problems
from app.settings import (
    DEMO_DIR,
    DEVELOPMENT_AUTH_TOKEN,
    QUEUE_DIR,
    AppEnv,
    Settings,
    SettingsError,
    load_operator_config,
    load_settings,
)

OPERATOR = QUEUE_DIR / "operator.yml"
QUEUES = QUEUE_DIR / "queues.yml"


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def operator_data() -> dict:
    return yaml.safe_load(OPERATOR.read_text())


def queues_data() -> dict:
    return yaml.safe_load(QUEUES.read_text())


def test_the_shipped_yaml_is_valid() -> None:
    config = load_operator_config(OPERATOR, QUEUES)
    assert config.queue_for_number("+15005550006").name == "support"
    assert config.queue_for_number("+19999999999").name == config.queues.default_queue


def test_broken_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    broken = write(tmp_path, "operator.yml", "company: Acme\nlanguages: [unclosed\n")
    with pytest.raises(SettingsError) as error:
        load_operator_config(broken, QUEUES)
    assert str(broken) in str(error.value)
    assert "line 3" in str(error.value) and "not valid YAML" in str(error.value)


def test_a_missing_prompt_names_the_field(tmp_path: Path) -> None:
    data = operator_data()
    del data["languages"]["en-US"]["prompts"]["greeting"]
    with pytest.raises(SettingsError) as error:
        load_operator_config(write(tmp_path, "operator.yml", data), QUEUES)
    assert "languages.en-US.prompts.greeting: Field required" in str(error.value)


def test_a_misspelt_setting_is_not_silently_ignored(tmp_path: Path) -> None:
    data = operator_data()
    data["hold_musik_url"] = "https://example.com/a.mp3"
    with pytest.raises(SettingsError) as error:
        load_operator_config(write(tmp_path, "operator.yml", data), QUEUES)
    assert "hold_musik_url" in str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(timezone="Mars/Olympus"), "unknown time zone"),
        (lambda d: d["business_hours"].update(monday=[["18:00", "08:00"]]), "not before closing"),
        (lambda d: d["business_hours"].update(funday=[]), "unknown weekday"),
        (lambda d: d["business_hours"].update(monday=[["8am", "20:00"]]), "HH:MM"),
        (lambda d: d.update(hold_music_url="ftp://music"), "hold_music_url"),
    ],
)
def test_invalid_operator_values_are_explained(tmp_path: Path, change, message: str) -> None:
    data = operator_data()
    change(data)
    with pytest.raises(SettingsError) as error:
        load_operator_config(write(tmp_path, "operator.yml", data), QUEUES)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(default_queue="nowhere"), "default_queue 'nowhere'"),
        (lambda d: d["queues"][0].update(numbers=["555-1234"]), "not an E.164 number"),
        (lambda d: d["queues"][0].update(languages=["fr-FR"]), "languages.0: 'fr-FR' has no"),
        (lambda d: d["queues"][0].update(grace_period_seconds=-5), "grace_period_seconds"),
        (lambda d: d["queues"].append(dict(d["queues"][0])), "unique"),
        (
            lambda d: d["queues"][0].update(numbers=[], callbacks={"enabled": True}),
            "callbacks.enabled needs at least one of the queue's numbers",
        ),
        (
            lambda d: d["queues"][0].update(callbacks={"enabled": True, "countries": ["XX"]}),
            "callbacks.countries",
        ),
    ],
)
def test_invalid_queue_values_are_explained(tmp_path: Path, change, message: str) -> None:
    data = queues_data()
    change(data)
    path = write(tmp_path, "queues.yml", data)
    with pytest.raises(SettingsError) as error:
        load_operator_config(OPERATOR, path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_production_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "PUBLIC_BASE_URL",
        "RASA_TOKEN",
        "SECRET_KEY",
        "APP_ENV",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as error:
        load_settings(_env_file=None)
    assert (
        "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL, RASA_TOKEN, SECRET_KEY must be set"
        in str(error.value)
    )


# A production identity that passes every check (with the operator's own files).
STRONG = {
    "twilio_account_sid": "AC" + "0123456789abcdef" * 2,
    "twilio_auth_token": "fedcba9876543210" * 2,
    "public_base_url": "https://voice.example.com",
    "rasa_token": "r" * 16 + "0123456789abcdef",
    "secret_key": "s" * 16 + "0123456789abcdef",
}


def own_files(tmp_path: Path) -> dict[str, Path]:
    customers = write(tmp_path, "customers.yml", {"customers": []})
    agents = write(tmp_path, "agents.yml", {"agents": []})
    return {"customers_file": customers, "agents_file": agents}


def production(**values: object) -> str:
    """The error production gives for these settings ('' when it starts)."""
    try:
        load_settings(_env_file=None, app_env=AppEnv.production, **values)
    except SettingsError as error:
        return str(error)
    return ""


def test_production_starts_with_strong_secrets_and_its_own_files(tmp_path: Path) -> None:
    assert production(**STRONG, **own_files(tmp_path)) == ""


def test_production_refuses_the_published_demo_customers_and_agents(tmp_path: Path) -> None:
    error = production(**STRONG)
    assert "CUSTOMERS_FILE must name your own file" in error
    assert "AGENTS_FILE must name your own file" in error


def test_production_refuses_copies_of_the_demo_data_outside_demo(tmp_path: Path) -> None:
    customers = tmp_path / "customers.yml"
    customers.write_text((DEMO_DIR / "customers.yml").read_text(encoding="utf-8"))
    # One demo password hash reused in an otherwise new agents file.
    demo_agent = yaml.safe_load((DEMO_DIR / "agents.yml").read_text(encoding="utf-8"))["agents"][0]
    agents = write(tmp_path, "agents.yml", {"agents": [demo_agent | {"id": "zoe", "name": "Zoe"}]})
    error = production(**STRONG, customers_file=customers, agents_file=agents)
    assert f"CUSTOMERS_FILE ({customers}) holds passwords or PINs of the published demo" in error
    assert f"AGENTS_FILE ({agents}) holds passwords or PINs of the published demo" in error


@pytest.mark.parametrize(
    ("weak", "message"),
    [
        ({"secret_key": "x"}, "SECRET_KEY is too short"),
        ({"rasa_token": "a"}, "RASA_TOKEN is too short"),
        ({"secret_key": "changeme"}, "SECRET_KEY is a published value"),
        ({"twilio_account_sid": "x"}, "TWILIO_ACCOUNT_SID is not an account SID"),
        ({"twilio_account_sid": "AC" + "G" * 32}, "TWILIO_ACCOUNT_SID is not an account SID"),
        ({"twilio_auth_token": DEVELOPMENT_AUTH_TOKEN}, "TWILIO_AUTH_TOKEN is a published value"),
        ({"twilio_auth_token": "abc"}, "TWILIO_AUTH_TOKEN is not a Twilio auth token"),
        ({"public_base_url": "http://voice.example.com"}, "PUBLIC_BASE_URL must be https://"),
    ],
)
def test_production_refuses_weak_settings(
    tmp_path: Path, weak: dict[str, str], message: str
) -> None:
    assert message in production(**(STRONG | weak), **own_files(tmp_path))


def test_every_weak_setting_is_named_at_once(tmp_path: Path) -> None:
    weak = {
        "secret_key": "x",
        "rasa_token": "a",
        "twilio_account_sid": "x",
        "twilio_auth_token": DEVELOPMENT_AUTH_TOKEN,
        "public_base_url": "http://voice.example.com",
    }
    error = production(**weak, **own_files(tmp_path))
    for name in ("SECRET_KEY", "RASA_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC"):
        assert name in error


def test_app_env_is_production_or_development_and_nothing_else() -> None:
    for value in ("test", "staging", "prod"):
        with pytest.raises(SettingsError, match="APP_ENV"):
            load_settings(_env_file=None, app_env=value)


def test_the_session_cookie_is_secure_whenever_the_public_url_is_https(redis_url: str) -> None:
    settings = Settings(
        _env_file=None,
        app_env=AppEnv.development,
        redis_url=redis_url,
        public_base_url="https://voice.example.com",
    )
    app = create_app({"SETTINGS": settings})
    try:
        response = app.test_client().get("/agent/sign-in")
        cookie = response.headers["Set-Cookie"]
        assert "agent_console=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    finally:
        app.extensions["queue_assistant"].close()


def test_public_base_url_must_be_an_origin() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(
            _env_file=None, app_env=AppEnv.development, public_base_url="https://x.test/voice"
        )
    assert "PUBLIC_BASE_URL" in str(error.value)


def test_the_app_will_not_start_with_broken_yaml(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(
        _env_file=None,
        app_env=AppEnv.development,
        redis_url=redis_url,
        operator_file=write(tmp_path, "operator.yml", "company: [\n"),
    )
    with pytest.raises(SettingsError):
        create_app({"SETTINGS": settings})


def test_check_config_command_reports_the_error_and_exits_2(tmp_path: Path) -> None:
    broken = write(tmp_path, "queues.yml", {"default_queue": "support", "queues": []})
    result = subprocess.run(
        [sys.executable, "-m", "app.check_config"],
        env={"APP_ENV": "development", "QUEUES_FILE": str(broken), "PATH": ""},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert f"{broken}: 1 invalid setting(s)" in result.stderr
    assert "queues:" in result.stderr


def test_production_refuses_recordings_twilio_cannot_fetch(tmp_path: Path) -> None:
    """The demo's Lao clips are served from this machine's loopback: fine for the demo,
    unreachable for Twilio in production."""
    config = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")
    operator_file = QUEUE_DIR / "operator.yml"
    (problem,) = recording_problems(config.operator, operator_file)
    assert "languages.lo-LA.recordings.base_url" in problem and "loopback" in problem
    text = operator_file.read_text(encoding="utf-8")
    own = tmp_path / "operator.yml"
    for base, found in (
        ("https://clips.example.com/lo-LA/", []),
        ("http://clips.example.com/lo-LA/", ["must be https://"]),
    ):
        own.write_text(
            text.replace("http://127.0.0.1:8000/voice/recordings/lo-LA/", base), encoding="utf-8"
        )
        mine = load_operator_config(own, QUEUE_DIR / "queues.yml")
        problems = recording_problems(mine.operator, own)
        assert [f for f in found if any(f in p for p in problems)] == found
        assert len(problems) == len(found)


def test_a_broken_staffing_plan_names_the_file_field_and_line(tmp_path: Path) -> None:
    data = queues_data()
    data["queues"][0]["staffing_plan"] = {"monday": [["12:00", 3], ["08:00", 1]]}
    with pytest.raises(SettingsError) as error:
        load_operator_config(OPERATOR, write(tmp_path, "queues.yml", data))
    said = str(error.value)
    assert "queues.yml" in said and "staffing_plan" in said and "line" in said
    assert "in order of time" in said
