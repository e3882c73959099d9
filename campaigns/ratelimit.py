"""The send rate of a provider connection: a token bucket in Redis shared by every process.

Tokens are segments. The bucket holds at most `capacity` tokens (one second of the rate by
default, so a burst never exceeds what the carrier allows in a second) and refills at `rate`
per second by the clock of the Redis server (TIME), so processes on hosts with skewed clocks
still share one budget. A take is one Lua call: it grants what is there, up to the request, and
says how long until the next token.
"""

import asyncio

TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local requested = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
end
local granted = math.min(requested, math.floor(tokens + 1e-3))  -- float noise of the timestamps
if granted < 0 then granted = 0 end
tokens = math.max(0, tokens - granted)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
local wait_ms = 0
if tokens < 1 then wait_ms = math.ceil((1 - tokens) / rate * 1000) end
return {granted, wait_ms}
"""


def bucket_key(connection_id):
    from campaigns.redis_client import key

    return key("tps", connection_id)


class AsyncTokenBucket:
    """The bucket of one connection for an asyncio Redis client (`redis.asyncio`); rate 0 means
    no limit (every take is granted at once)."""

    def __init__(self, client, key, rate, capacity=None, clock=None):
        self.client = client
        self.key = key
        self.rate = rate
        self.capacity = capacity if capacity is not None else rate
        # Tests pass a clock (seconds); otherwise the Redis server's TIME is the one clock.
        self.clock = clock
        self._script = client.register_script(TAKE) if rate else None

    def _args(self, requested):
        args = [self.rate, self.capacity, requested]
        return args if self.clock is None else [*args, repr(float(self.clock()))]

    @classmethod
    def for_connection(cls, client, connection):
        return cls(client, bucket_key(connection.pk), connection.tps)

    async def take(self, requested):
        """Takes up to `requested` tokens; returns (granted, seconds until the next token)."""
        if not self.rate or requested <= 0:
            return requested, 0.0
        granted, wait_ms = await self._script(keys=[self.key], args=self._args(requested))
        return int(granted), int(wait_ms) / 1000

    async def acquire(self, needed, sleep=asyncio.sleep):
        """Waits until `needed` tokens are taken (partial grants add up)."""
        remaining = needed
        while remaining > 0:
            granted, wait = await self.take(remaining)
            remaining -= granted
            if remaining > 0:
                await sleep(_pause(wait, remaining, self.rate))
        return needed


def _pause(wait, remaining, rate):
    # Waiting for a handful of tokens at a time keeps the Lua calls few without idling the window.
    return max(wait, min(remaining, max(rate // 10, 1)) / rate, 0.001)
