"""What a send request looks up and what rarely changes, kept per process: the application by its
app key (with its account), the signatures of a channel, the template with its variables, the
provider connection and the id of the hidden API campaign of a route. Without it a one-number
request read nine rows in five queries before doing anything (docs/benchmarks.md, bench_api).

Freshness, in three layers:
- every change of those rows made through the ORM (save, delete: Django's signals) or a status
  transition (compare_and_set and the other bulk moves send smsconsole.models.rows_changed)
  clears this process's copy at once and bumps a generation number in Redis; every request reads
  that number in the Redis round trip it makes anyway (api.auth), and a process that sees a new
  one drops its copy;
- an entry lives at most SMS_API_CACHE_SECONDS whatever happens (a bare UPDATE elsewhere);
- a request refused on cached facts (not launched, frozen, not allowed from this address, a
  wrong signature) is checked again on fresh rows before it is answered: the cache can let a
  request through for a few seconds after a change no signal told, never refuse one wrongly.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from campaigns.redis_client import get_redis, key

log = logging.getLogger(__name__)

_lock = threading.Lock()
_entries = {}  # (kind, *ids) -> (expires at, value)
_seen_generation = None


def generation_key():
    return key("api", "route-cache-generation")


def get(cache_key, load):
    """The cached value of `cache_key`, or load() kept for SMS_API_CACHE_SECONDS (None is not kept)."""
    now = time.monotonic()
    entry = _entries.get(cache_key)
    if entry is not None and entry[0] > now:
        return entry[1]
    value = load()
    if value is not None and settings.SMS_API_CACHE_SECONDS > 0:
        _entries[cache_key] = (now + settings.SMS_API_CACHE_SECONDS, value)
    return value


def is_cached(cache_key):
    entry = _entries.get(cache_key)
    return entry is not None and entry[0] > time.monotonic()


def forget(cache_key):
    _entries.pop(cache_key, None)


def clear():
    with _lock:
        _entries.clear()


def observe(generation):
    """The generation read from Redis by this request; a new one drops this process's copy.
    Returns True when it did (what was read from the cache may be stale)."""
    global _seen_generation
    with _lock:
        if generation == _seen_generation:
            return False
        _seen_generation = generation
        _entries.clear()
        return True


def _bump():
    try:
        get_redis().incr(generation_key())
    except Exception:  # noqa: BLE001 (a console save must not fail on Redis; the TTL still holds)
        log.warning("could not bump the API route cache generation", exc_info=True)


def changed(**_kwargs):
    """Something a send request reads has changed: this process forgets now, the others on their
    next request. Bumped again after the commit, so a process that reloaded between the change and
    its commit (and kept the old rows) drops them too."""
    clear()
    _bump()
    transaction.on_commit(lambda: (clear(), _bump()))


def connect():
    """Called by ApiConfig.ready."""
    from accounts.models import ServiceApplication
    from campaigns.models import Campaign, ProviderConnection
    from smsconsole.models import Account, Application, rows_changed
    from templates_app.models import Signature, Template, TemplateVariable

    for model in (Account, Application, ServiceApplication, Signature, Template, TemplateVariable, ProviderConnection):
        post_save.connect(changed, sender=model, dispatch_uid=f"route_cache_save_{model.__name__}")
        post_delete.connect(changed, sender=model, dispatch_uid=f"route_cache_delete_{model.__name__}")
        rows_changed.connect(changed, sender=model, dispatch_uid=f"route_cache_rows_{model.__name__}")
    # A hidden campaign deleted: its cached id would name nothing (api.sending copes, this is sooner).
    post_delete.connect(changed, sender=Campaign, dispatch_uid="route_cache_delete_Campaign")
