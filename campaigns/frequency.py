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
MESSAGE_TYPES = ("verification", "notification", "promotion")
CONTENT = "content"  # the JSON key of the same-content windows
MAX_WINDOW = 31 * 86_400  # a window longer than a month would keep a number's key for ever


OVER_CAP = "frequency_cap"

# ARGV: now, record (0|1), the number of rule sets, each rule set as its window count and its
# (seconds, limit)… (the first: the same-content windows; then one per message type in the call),
# then per message: member, the index of its type's rule set. KEYS: per message its type key and
# its content key. Returns per message 1 (admitted) or 0 (over a cap). The windows go once per call,
# not once per message: packing the arguments of a 200-message chunk was a tenth of the gateway's CPU.
_ADMIT = """
local now = tonumber(ARGV[1])
local record = ARGV[2] == "1"
local pos = 4
local sets = {}
for s = 1, tonumber(ARGV[3]) do
  local n = tonumber(ARGV[pos]); pos = pos + 1
  local rules, longest = {}, 0
  for w = 1, n do
    local seconds = tonumber(ARGV[pos]); local limit = tonumber(ARGV[pos + 1]); pos = pos + 2
    rules[w] = {seconds, limit}
    if seconds > longest then longest = seconds end
  end
  sets[s] = {rules, longest}
end
local out = {}
for i = 1, #KEYS, 2 do
  local member = ARGV[pos]
  local checks = {sets[tonumber(ARGV[pos + 1])], sets[1]}
  pos = pos + 2
  local ok = true
  local sizes = {}
  for k = 0, 1 do
    local key = KEYS[i + k]
    -- A window never counts more than the set holds: a set smaller than a rule's limit cannot be
    -- over it, so most numbers of a bulk send (none or few sends yet) cost one ZCARD, not a ZCOUNT
    -- and a ZSCORE per rule (the caps' script was most of Redis's CPU at 28 us a message).
    local size = redis.call('ZCARD', key)
    sizes[k] = size
    local own, looked = nil, false
    for _, rule in ipairs(checks[k + 1][1]) do
      local seconds, limit = rule[1], rule[2]
      if ok and size >= limit then
        local count = redis.call('ZCOUNT', key, '(' .. (now - seconds), '+inf')
        -- A message recorded before and handed back (requeued, or its claim rolled back) is the same
        -- message asking again: its own entry must not count against it, or it would be skipped unsent.
        if not looked then own, looked = redis.call('ZSCORE', key, member), true end
        if own and tonumber(own) > now - seconds then count = count - 1 end
        if count >= limit then ok = false end
      end
    end
  end
  if ok and record then
    for k = 0, 1 do
      local key = KEYS[i + k]
      local longest = checks[k + 1][2]
      if sizes[k] > 0 then redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest) end
      redis.call('ZADD', key, now, member)
      redis.call('EXPIRE', key, longest + 1)
    end
  end
  out[#out + 1] = ok and 1 or 0
end
return out
"""


def default_caps():
    """The defaults in the JSON form an account stores (AccountLimits.frequency_caps)."""
    caps = {message_type: [list(rule) for rule in DEFAULT_TYPE_RULES[message_type]] for message_type in MESSAGE_TYPES}
    caps[CONTENT] = [list(rule) for rule in DEFAULT_CONTENT_RULES]
    return caps


def caps_from_json(value):
    """(type rules, content rules) from the stored form; raises ValueError naming what is wrong.
    A missing key keeps its default; an empty list means no cap of that family."""
    if not isinstance(value, dict):
        raise ValueError("frequency caps must be an object of rule lists")
    unknown = set(value) - {*MESSAGE_TYPES, CONTENT}
    if unknown:
        raise ValueError(f"unknown frequency cap keys: {', '.join(sorted(unknown))}")

    def rules(key, default):
        raw = value.get(key, default)
        if not isinstance(raw, (list, tuple)):
            raise ValueError(f"{key}: a list of [seconds, limit] pairs")
        out = []
        for rule in raw:
            if (
                not isinstance(rule, (list, tuple))
                or len(rule) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in rule)
            ):
                raise ValueError(f"{key}: each rule is [seconds, limit] in whole numbers")
            seconds, limit = rule
            if not 1 <= seconds <= MAX_WINDOW or limit < 1:
                raise ValueError(f"{key}: a window of 1 s to 31 days and a limit of at least 1")
            out.append((seconds, limit))
        return tuple(sorted(out))

    type_rules = {message_type: rules(message_type, DEFAULT_TYPE_RULES[message_type]) for message_type in MESSAGE_TYPES}
    return type_rules, rules(CONTENT, DEFAULT_CONTENT_RULES)


def content_digest(text):
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class FrequencyCaps:
    """Caps for one account; `rules` maps message type to windows, `content_rules` the same-content ones."""

    def __init__(self, redis, prefix, account_id, rules=None, content_rules=None):
        self.redis = redis
        self.prefix = f"{prefix}:freq:{account_id}"
        self.rules = DEFAULT_TYPE_RULES if rules is None else rules
        self.content_rules = DEFAULT_CONTENT_RULES if content_rules is None else content_rules
        self._script = redis.register_script(_ADMIT)

    @classmethod
    def for_account(cls, account_id, redis=None, limits=None):
        """The caps the account set on its settings page (AccountLimits, read unless `limits` are
        given), or the defaults; every sender (planning, the gateway, the API) builds its caps here."""
        from django.conf import settings

        from campaigns.models.limits import AccountLimits
        from campaigns.redis_client import get_redis

        rules, content_rules = caps_from_json((limits or AccountLimits.of(account_id)).frequency_caps)
        return cls(redis or get_redis(), settings.SMS_REDIS_PREFIX, account_id, rules, content_rules)

    def _call(self, messages, record, now, content_rules=None):
        """messages: (member, phone, message type, text); `content_rules` replaces the account's
        same-content windows (a preview that does not know each text checks none)."""
        if not messages:
            return []
        content_rules = self.content_rules if content_rules is None else content_rules
        sets = [content_rules]
        index = {}  # message type -> its rule set's position (1-based, as Lua counts)
        keys, members = [], []
        for member, phone, message_type, text in messages:
            if message_type not in index:
                sets.append(self.rules.get(message_type, ()))
                index[message_type] = len(sets)
            keys += self._keys(phone, message_type, text)
            members += [str(member), index[message_type]]
        args = [repr(float(now if now is not None else time.time())), "1" if record else "0", len(sets)]
        for rules in sets:
            args += [len(rules), *[x for rule in rules for x in rule]]
        args += members
        return [bool(flag) for flag in self._script(keys=keys, args=args)]

    def forget(self):
        """Drops every send this account's caps remember (the benchmarks send to the same generated
        numbers run after run, and the caps would skip them from the fifth run on)."""
        keys = list(self.redis.scan_iter(match=f"{self.prefix}:*", count=10_000))
        for start in range(0, len(keys), 10_000):
            self.redis.delete(*keys[start : start + 10_000])

    def admit(self, messages, now=None):
        """Records and admits what is under every cap; returns one bool per message, in order."""
        return self._call(messages, True, now)

    def withdraw(self, messages):
        """Forgets what `admit` recorded for these messages (member, phone, message type, text):
        admitted, then not sent after all (the quota or the balance held them back)."""
        if not messages:
            return
        pipe = self.redis.pipeline(transaction=False)
        for member, phone, message_type, text in messages:
            for key in self._keys(phone, message_type, text):
                pipe.zrem(key, str(member))
        pipe.execute()

    def _keys(self, phone, message_type, text):
        """The sorted sets a message counts in: its number and type, its number and content."""
        return [f"{self.prefix}:t:{message_type}:{phone}", f"{self.prefix}:c:{phone}:{content_digest(text)}"]

    def would_admit(self, messages, now=None):
        """The same answer without recording anything (for previews)."""
        return self._call(messages, False, now)

    def numbers_over_cap(self, phones, message_type, text=None, now=None):
        """The numbers among `phones` that a message of `message_type` (and, given, of exactly
        `text`) would find over a cap right now, for a preview: the admit script's own check,
        recording nothing, a few thousand numbers a call."""
        phones = list(phones)
        content_rules = None if text is not None else ()
        over = set()
        for start in range(0, len(phones), 2000):
            chunk = phones[start : start + 2000]
            # A member no message has: a preview must not be taken for a message asking again.
            messages = [("preview", phone, message_type, text or "") for phone in chunk]
            admitted = self._call(messages, False, now, content_rules)
            over.update(phone for phone, ok in zip(chunk, admitted) if not ok)
        return over
