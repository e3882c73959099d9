"""The README's production settings pass Django's deployment checks, and the hardening they turn
on is really there."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


def production_environment(**extra):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "SMS_"))}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "sms.example.com",
            "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        }
    )
    env.update(extra)
    return env


def run_manage(*args, env):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT, env=env, capture_output=True, text=True)


def test_check_deploy_is_clean_with_the_readme_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_defaults_are_the_secure_ones():
    script = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_PROXY_SSL_HEADER, 'csp.middleware.CSPMiddleware' in s.MIDDLEWARE)"
    )
    result = run_manage("shell", "-c", script, env=production_environment())
    assert result.stdout.strip().splitlines()[-1].split() == [
        "True",
        "True",
        "True",
        "31536000",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "True",
    ]


@pytest.mark.parametrize("name", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without_its_keys(name):
    env = production_environment()
    del env[name]
    result = run_manage("check", env=env)
    assert result.returncode != 0 and f"{name} must be set" in result.stderr


def test_every_page_carries_the_content_security_policy(client, alice):
    client.force_login(alice)
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
