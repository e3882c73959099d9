"""One way to retry a call that fails for a passing reason (Redis or the database restarting).

No Django here, so the gateway, the SMPP client and anything else share it. A retry loop is a
policy (which errors, how often, how long between) plus a log line; writing it once keeps each
caller to the one line that says what it retries.
"""

import asyncio
import logging

log = logging.getLogger(__name__)


async def retry_async(call, *, errors, what, attempts=None, delay=1.0, backoff=1.0, max_delay=10.0, logger=None):
    """Awaits `call()` until it returns, retrying on `errors` with a pause that starts at `delay`
    and grows by `backoff` up to `max_delay`. After `attempts` failed tries (None: never give up)
    the last error is raised. `what` names the work in the warning each retry logs."""
    logger = logger or log
    failures = 0
    while True:
        try:
            return await call()
        except errors as error:
            failures += 1
            if attempts is not None and failures >= attempts:
                raise
            logger.warning("%s failed (%s); retrying in %.1fs", what, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * backoff, max_delay)
