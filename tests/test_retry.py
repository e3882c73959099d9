"""sms.retry: the one retry policy the gateway uses for Redis and the database."""

import asyncio
import logging

import pytest

from sms import retry


@pytest.fixture(autouse=True)
def _no_sleeping(monkeypatch):
    pauses = []

    async def sleep(seconds):
        pauses.append(seconds)

    monkeypatch.setattr(retry.asyncio, "sleep", sleep)
    return pauses


def flaky(failures, error=ConnectionError):
    calls = []

    async def call():
        calls.append(1)
        if len(calls) <= failures:
            raise error("down")
        return len(calls)

    return call, calls


def test_it_retries_the_named_errors_with_a_growing_pause_until_the_call_succeeds(_no_sleeping, caplog):
    call, calls = flaky(4)
    with caplog.at_level(logging.WARNING):
        result = asyncio.run(
            retry.retry_async(call, errors=(ConnectionError,), what="saving", delay=0.5, backoff=2, max_delay=3)
        )
    assert result == 5 and len(calls) == 5
    assert _no_sleeping == [0.5, 1.0, 2.0, 3]
    assert "saving failed (down); retrying in 0.5s" in caplog.text


def test_it_raises_the_last_error_after_the_given_attempts(_no_sleeping):
    call, calls = flaky(10)
    with pytest.raises(ConnectionError):
        asyncio.run(retry.retry_async(call, errors=(ConnectionError,), what="x", attempts=3))
    assert len(calls) == 3 and len(_no_sleeping) == 2


def test_other_errors_are_not_retried(_no_sleeping):
    call, calls = flaky(1, error=ValueError)
    with pytest.raises(ValueError):
        asyncio.run(retry.retry_async(call, errors=(ConnectionError,), what="x"))
    assert len(calls) == 1 and _no_sleeping == []
