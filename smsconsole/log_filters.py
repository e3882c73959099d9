"""Logging filters. No Django import at module level: settings.LOGGING names these."""

import logging


class QuietRefusals(logging.Filter):
    """A refused request (403 for a read-only member, 404 for another account's id) is an expected
    answer, not an error: keep its one-line record, drop the traceback Django attaches to it."""

    EXPECTED = ("PermissionDenied", "Http404")

    def filter(self, record):
        if record.exc_info and record.exc_info[0] is not None and record.exc_info[0].__name__ in self.EXPECTED:
            record.exc_info = None
            record.exc_text = None
        return True
