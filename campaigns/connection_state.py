"""Whether a provider connection has a bound session, as the gateways last said, for the pages and
`campaign_status` that would otherwise show a campaign waiting with no word why.

Every few seconds a gateway writes, per connection it serves, its latest report (`state`: bound
sessions and, when none, why) and, while it holds a bound session, the `bound` key. Both expire
(STATE_TTL), so a gateway that died stops vouching for its binds; with several gateways on one
connection, one bound session anywhere is enough.
"""

import json
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from campaigns.redis_client import get_redis, key

STATE_TTL = 10
# How often a gateway reports (a fifth of the TTL: a missed report or two does not flap the page).
PUBLISH_INTERVAL = 2.0


def bound_key(connection_id):
    return key("connection", connection_id, "bound")


def state_key(connection_id):
    return key("connection", connection_id, "state")


async def publish(redis, connection_id, gateway_id, bound, reason=""):
    """One gateway's report on one connection (`redis` is an asyncio client)."""
    report = json.dumps({"gateway": gateway_id, "bound": bound, "reason": "" if bound else reason})
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(state_key(connection_id), report, ex=STATE_TTL)
        if bound:
            pipe.set(bound_key(connection_id), gateway_id, ex=STATE_TTL)
        await pipe.execute()


async def withdraw(redis, connection_id, gateway_id, reason):
    """A gateway stops serving the connection: its word on the bind no longer holds."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(state_key(connection_id), json.dumps({"gateway": gateway_id, "bound": 0, "reason": reason}))
        pipe.expire(state_key(connection_id), STATE_TTL)
        pipe.delete(bound_key(connection_id))
        await pipe.execute()


@dataclass(frozen=True)
class ConnectionState:
    name: str
    connected: bool
    reason: str = ""

    @property
    def waiting(self):
        """The sentence a campaign on this connection shows while it cannot send."""
        return _("Waiting for connection %(name)s (not connected: %(reason)s).") % {
            "name": self.name,
            "reason": self.reason,
        }


def read(connection, redis=None):
    """The ConnectionState of a ProviderConnection (a disabled one needs no Redis to say so)."""
    if not connection.enabled:
        return ConnectionState(connection.name, False, str(_("the connection is disabled")))
    try:
        client = redis or get_redis()
        bound, report = client.mget(bound_key(connection.pk), state_key(connection.pk))
    except (RedisError, OSError):
        return ConnectionState(connection.name, False, str(_("the gateway's state cannot be read from Redis")))
    if bound:
        return ConnectionState(connection.name, True)
    if not report:
        return ConnectionState(connection.name, False, str(_("no gateway is serving it")))
    try:
        reason = json.loads(report).get("reason") or ""
    except (ValueError, AttributeError):
        reason = ""
    return ConnectionState(connection.name, False, reason or str(_("binding")))
