"""Settings for the processes the sending tests start: the project's, plus knobs from the environment.

SMS_REDIS_PREFIX keeps each test's Redis keys apart (several runs can share one Redis), and the
sweeper thresholds let fault tests recover in seconds instead of minutes.
"""

import os

from smsconsole.settings import *  # noqa: F403

SMS_REDIS_PREFIX = os.environ.get("SMS_REDIS_PREFIX", "smsconsole")
SMS_STUCK_BATCH_SECONDS = int(os.environ.get("SMS_STUCK_BATCH_SECONDS", "300"))
SMS_STUCK_SENDING_SECONDS = int(os.environ.get("SMS_STUCK_SENDING_SECONDS", "600"))
SMS_MAX_PUSHED_BATCHES = int(os.environ.get("SMS_MAX_PUSHED_BATCHES", "8"))
