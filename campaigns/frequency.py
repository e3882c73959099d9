"""Frequency caps per number: rolling windows in Redis, shared by every worker, gateway and API
process, so a cap holds across campaigns and API calls alike.

Two families of rule (cloud-sms-spec.md 4.1, the newer set by default): per number and message
type (e.g. notification: 10 a minute, 50 a day), and per number and identical content (2 in 59 s,
5 in 59 min). Each (account, number, type) and (account, number, content) is a sorted set of send
times; one Lua call checks a whole chunk against every window and records the admitted messages
atomically, so two gateways cannot both let the eleventh message of a minute through.
"""

import hashlib
import time

# (seconds, limit) windows per message type, and for the same number and content.
DEFAULT_TYPE_RULES = {
    "verification": ((60, 2), (86_400, 50)),
    "notification": ((60, 10), (86_400, 50)),
    "promotion": ((3_600, 4), (86_400, 10)),
}
DEFAULT_CONTENT_RULES = ((59, 2), (3_540, 5))

OVER_CAP = "frequency_cap"

# ARGV: now, record (0|1), then per message: member, type-window count, (seconds, limit)…,
# content-window count, (seconds, limit)…; KEYS: per message its type key and its content key.
# Returns per message 1 (admitted) or 0 (over a cap).
_ADMIT = """
local now = tonumber(ARGV[1])
local record = ARGV[2] == "1"
local pos = 3
local out = {}
for i = 1, #KEYS, 2 do
  local member = ARGV[pos]; pos = pos + 1
  local ok = true
  local longest = {0, 0}
  for k = 0, 1 do
    local key = KEYS[i + k]
    local n = tonumber(ARGV[pos]); pos = pos + 1
    for w = 1, n do
      local seconds = tonumber(ARGV[pos]); local limit = tonumber(ARGV[pos + 1]); pos = pos + 2
      if seconds > longest[k + 1] then longest[k + 1] = seconds end
      if ok and redis.call('ZCOUNT', key, '(' .. (now - seconds), '+inf') >= limit then ok = false end
    end
  end
  if ok and record then
    for k = 0, 1 do
      local key = KEYS[i + k]
      redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest[k + 1])
      redis.call('ZADD', key, now, member)
      redis.call('EXPIRE', key, longest[k + 1] + 1)
    end
  end
  out[#out + 1] = ok and 1 or 0
end
return out
"""


def content_digest(text):
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class FrequencyCaps:
    """Caps for one account; `rules` maps message type to windows, `content_rules` the same-content ones."""

    def __init__(self, redis, prefix, account_id, rules=None, content_rules=None):
        self.redis = redis
        self.prefix = f"{prefix}:freq:{account_id}"
        self.rules = rules or DEFAULT_TYPE_RULES
        self.content_rules = content_rules or DEFAULT_CONTENT_RULES
        self._script = redis.register_script(_ADMIT)

    def _call(self, messages, record, now):
        """messages: (member, phone, message type, text)."""
        if not messages:
            return []
        keys, args = [], [repr(float(now if now is not None else time.time())), "1" if record else "0"]
        for member, phone, message_type, text in messages:
            keys += [f"{self.prefix}:t:{message_type}:{phone}", f"{self.prefix}:c:{phone}:{content_digest(text)}"]
            type_rules, content_rules = self.rules.get(message_type, ()), self.content_rules
            args += [str(member), len(type_rules), *[x for rule in type_rules for x in rule]]
            args += [len(content_rules), *[x for rule in content_rules for x in rule]]
        return [bool(flag) for flag in self._script(keys=keys, args=args)]

    def admit(self, messages, now=None):
        """Records and admits what is under every cap; returns one bool per message, in order."""
        return self._call(messages, True, now)

    def would_admit(self, messages, now=None):
        """The same answer without recording anything (for previews)."""
        return self._call(messages, False, now)
