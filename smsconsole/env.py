"""Tiny helpers that read settings from the environment and fail loudly on bad values.

No Django import here: settings.py uses these before Django is configured.
"""

import os
from datetime import date


class EnvError(ValueError):
    pass


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=None):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise EnvError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name, default, minimum=None, maximum=None):
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise EnvError(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise EnvError(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise EnvError(f"{name}={value} is above the maximum {maximum}")
    return value


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_dates(name):
    """A comma-separated list of ISO dates (2025-10-01,2025-10-02) as a frozenset of dates."""
    days = set()
    for item in env_list(name):
        try:
            days.add(date.fromisoformat(item))
        except ValueError:
            raise EnvError(f"{name}: {item!r} is not a date written YYYY-MM-DD") from None
    return frozenset(days)


def env_tiers(name, default):
    """Monthly price tiers: "1000000:0.065,3000000:0.060,:0.055" (segments up to a ceiling at a
    price; the last tier has no ceiling) -> [(1000000, "0.065"), (3000000, "0.060"), (None, "0.055")]."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    from decimal import Decimal, InvalidOperation

    tiers = []
    try:
        for part in raw.split(","):
            ceiling, _sep, price = part.strip().partition(":")
            tiers.append((int(ceiling) if ceiling.strip() else None, str(Decimal(price.strip()))))
    except (ValueError, InvalidOperation):
        raise EnvError(f"{name}={raw!r} is not a list of CEILING:PRICE tiers") from None
    if tiers[-1][0] is not None or any(ceiling is None for ceiling, _price in tiers[:-1]):
        raise EnvError(f"{name}={raw!r}: only the last tier has no ceiling, e.g. 1000000:0.065,:0.055")
    return tiers


def env_float(name, default, minimum=None, maximum=None):
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise EnvError(f"{name}={raw!r} is not a number") from None
    if value != value or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise EnvError(f"{name}={value} is outside {minimum}..{maximum}")
    return value
