import os
import subprocess
import sys
from pathlib import Path

import pytest

from smsconsole.env import EnvError, env_bool, env_dates, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1", True),
        ("true", True),
        (" Yes ", True),
        ("ON", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("SMS_FLAG", raw)
    assert env_bool("SMS_FLAG") is expected


def test_env_bool_falls_back_to_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("SMS_FLAG", raising=False)
    assert env_bool("SMS_FLAG", True) is True


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_env_bool_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SMS_FLAG", raw)
    with pytest.raises(EnvError, match="SMS_FLAG"):
        env_bool("SMS_FLAG")


def test_env_int_reads_a_number_and_falls_back_to_the_default(monkeypatch):
    monkeypatch.setenv("SMS_LIMIT", " 42 ")
    assert env_int("SMS_LIMIT", 1) == 42
    monkeypatch.delenv("SMS_LIMIT")
    assert env_int("SMS_LIMIT", 7) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", ""])
def test_env_int_refuses_a_non_number_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SMS_LIMIT", raw)
    with pytest.raises(EnvError, match="SMS_LIMIT"):
        env_int("SMS_LIMIT", 1)


def test_env_int_enforces_its_bounds(monkeypatch):
    monkeypatch.setenv("SMS_PORT", "0")
    with pytest.raises(EnvError, match="SMS_PORT.*minimum"):
        env_int("SMS_PORT", 25, minimum=1, maximum=65535)
    monkeypatch.setenv("SMS_PORT", "70000")
    with pytest.raises(EnvError, match="SMS_PORT.*maximum"):
        env_int("SMS_PORT", 25, minimum=1, maximum=65535)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("SMS_HOSTS", " a.example, ,b.example,")
    assert env_list("SMS_HOSTS") == ["a.example", "b.example"]
    monkeypatch.delenv("SMS_HOSTS")
    assert env_list("SMS_HOSTS", ["x"]) == ["x"]


def test_env_dates_reads_iso_dates(monkeypatch):
    from datetime import date

    monkeypatch.setenv("SMS_REVIEW_HOLIDAYS", "2025-10-01, 2025-10-02,")
    assert env_dates("SMS_REVIEW_HOLIDAYS") == {date(2025, 10, 1), date(2025, 10, 2)}
    monkeypatch.delenv("SMS_REVIEW_HOLIDAYS")
    assert env_dates("SMS_REVIEW_HOLIDAYS") == frozenset()


def test_env_dates_refuses_another_spelling_naming_the_variable(monkeypatch):
    monkeypatch.setenv("SMS_REVIEW_HOLIDAYS", "2025-10-01,1/10/2025")
    with pytest.raises(EnvError, match="SMS_REVIEW_HOLIDAYS.*1/10/2025"):
        env_dates("SMS_REVIEW_HOLIDAYS")


def test_env_str_returns_the_raw_value_or_default(monkeypatch):
    monkeypatch.delenv("SMS_NAME", raising=False)
    assert env_str("SMS_NAME", "d") == "d"
    monkeypatch.setenv("SMS_NAME", "console")
    assert env_str("SMS_NAME") == "console"


def load_settings(**env):
    """Imports the settings in a fresh interpreter with only `env` on top of a clean environment."""
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "DATABASE_URL"}
    }
    clean.update(DJANGO_SETTINGS_MODULE="smsconsole.settings", **env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_refuse_to_load_without_secret_key_when_debug_is_off():
    result = load_settings(DEBUG="0", FIELD_ENCRYPTION_KEY="k" * 32)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_settings_refuse_to_load_without_encryption_key_when_debug_is_off():
    result = load_settings(DEBUG="0", SECRET_KEY="s" * 50)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "FIELD_ENCRYPTION_KEY" in result.stderr


def test_settings_load_with_both_keys_when_debug_is_off():
    result = load_settings(DEBUG="0", SECRET_KEY="s" * 50, FIELD_ENCRYPTION_KEY="k" * 32)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_settings_refuse_a_bad_boolean_naming_the_variable():
    result = load_settings(DEBUG="perhaps")

    assert result.returncode != 0
    assert "EnvError" in result.stderr
    assert "DEBUG" in result.stderr
