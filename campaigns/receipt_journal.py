"""The gateway's receipt journal: receipts on the gateway's disk before the SMSC gets its resp.

A carrier lets only a few deliver_sm wait for their deliver_sm_resp (ten per bind is common), so
receipts come in at that window divided by the time it takes to store them. Stored by a
PostgreSQL commit (receipts.ingest), a round of ten took 2-3 ms on a quiet machine and 10-12 ms
while the same database took the campaign's submits, because the commit waits for the WAL the
submits write: two binds then let in 1,000-3,000 receipts a second. Appended to a local file, a
round is stored in a fraction of a millisecond; the client acknowledges it then, and the gateway
applies the journal to the database in large batches (receipts.ingest_final), thousands of
receipts per transaction. This is the store-and-forward file SMS gateways keep (Kannel's store
file, for one).

When the disk gets them (SMS_RECEIPT_JOURNAL_SYNC): "interval", the default, syncs the journal
every SYNC_INTERVAL seconds (and before a segment is applied): what the gateway acknowledged
survives the gateway being killed at any point (the kernel holds what was written), and a power
loss of the host can lose at most the receipts of the last interval, whose messages then stay
submitted until they expire. "each" syncs before every acknowledgement and loses nothing even
then; but a sync waits for the disk, and while the database writes a campaign's submits to the
same disk it took 2.5 ms on average (50 ms at worst), which against a window of ten per bind held
receipts to about 2,000 a second again.

Segments: receipts are appended to the open segment; `seal` closes it (the next append opens a
new one) and the gateway applies the sealed segments, then deletes them. Applying a segment twice
is harmless: a receipt moves a message only while it is submitted (compare-and-set), and a repeat
is kept as unmatched and dropped as a duplicate later (receipts.drop_duplicates). So a gateway
killed after applying a segment but before deleting it applies it again at its next start, and
one killed before applying applies it then. A torn last line (killed mid-write, before the sync,
so never acknowledged) is skipped: the SMSC sends that receipt again.

One journal per (database, gateway id, connection row): a gateway started again with the same id
finds its own leftovers. A gateway host that is retired should be stopped cleanly (it drains its
journal before it exits) or started once more to drain it.
"""

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".receipts"
SYNC_INTERVAL = 0.05


def journal_name(database, gateway_id, connection_id, connection_key=""):
    """The file-name prefix of a connection's journal: distinct databases (tests, benchmarks and the
    console on one host) and distinct gateways never share one. `connection_key` is random per
    connection row (its callback token, hashed here): a database dropped and created again under
    the same name, whose new connection gets the old id, must not be sent the old one's receipts."""
    where = f"{database.get('HOST', '')}:{database.get('PORT', '')}/{database.get('NAME', '')}/{connection_key}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:16]
    safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(gateway_id))[:80]
    return f"{digest}-{safe_id}-{connection_id}"


class ReceiptJournal:
    """Append-only segments of final receipts, (provider id, stat, err) each, a line per round, in `directory`.

    `append` may be called from any thread (the gateway appends from its event loop); `sync`,
    `seal`, `read`, `done` and `close` from one thread at a time (the gateway's journal thread), so
    a segment is never closed while it is being synced."""

    def __init__(self, directory, name, sync_each=False):
        self.directory = Path(directory)
        self.sync_each = sync_each
        self.dirty = False  # written since the last sync
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = name
        self._lock = threading.Lock()
        self._file = None
        self._path = None
        self._count = 0
        ours = [path for path in self.directory.glob(f"{name}-*{SUFFIX}") if self._number(path) is not None]
        existing = sorted(ours, key=self._number)
        # Left by an earlier run of this gateway: applied before anything new.
        self._sealed = list(existing)
        self._next = (self._number(existing[-1]) + 1) if existing else 1

    def _number(self, path):
        """The segment's number, or None for another journal's file that shares the prefix."""
        number = path.name[len(self.name) + 1 : -len(SUFFIX)]
        return int(number) if number.isdigit() else None

    @property
    def unsealed(self):
        """Receipts in the open segment (appended, not yet handed to the applier)."""
        return self._count

    def append(self, items):
        """Writes `items`; returns once they survive a crash of the process (and with `sync_each`,
        of the host). Raises OSError (disk full, say): the caller must then not acknowledge them."""
        if not items:
            return
        # One line per round, not per receipt: one json.dumps call instead of one per receipt (they
        # were a twentieth of the gateway's time). A round is acknowledged whole or not at all, so a
        # torn line loses only receipts the SMSC sends again.
        data = json.dumps([[str(p), str(s), str(e)] for p, s, e in items], ensure_ascii=False) + "\n"
        with self._lock:
            if self._file is None:
                self._open()
            self._file.write(data.encode())
            self._file.flush()
            if self.sync_each:
                os.fdatasync(self._file.fileno())
            else:
                self.dirty = True
            self._count += len(items)

    def sync(self):
        """Puts what was written on the disk (every SYNC_INTERVAL, from the gateway's journal thread).
        The lock is not held across the sync: it waits for the disk, and an append waiting for the lock
        would hold the event loop, and the SMSC's next receipts, that long."""
        with self._lock:
            if self._file is None or not self.dirty:
                return
            descriptor, self.dirty = self._file.fileno(), False
        os.fdatasync(descriptor)  # an append meanwhile sets dirty again: the next sync takes it

    def _sync(self):
        if self._file is not None and self.dirty:
            os.fdatasync(self._file.fileno())
        self.dirty = False

    def _open(self):
        self._path = self.directory / f"{self.name}-{self._next:08d}{SUFFIX}"
        self._next += 1
        self._file = open(self._path, "ab")  # noqa: SIM115 - kept open across appends, closed by seal
        # The new file's name must survive a crash as well as its contents.
        descriptor = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def seal(self):
        """Closes the open segment (if it holds anything) and returns every sealed segment's path,
        oldest first: what is to be applied."""
        with self._lock:
            self._close_segment()
            return list(self._sealed)

    def _close_segment(self):
        if self._file is not None:
            self._sync()
            self._file.close()
            self._sealed.append(self._path)
            self._file, self._path, self._count = None, None, 0

    @staticmethod
    def read(path):
        """The receipts of a sealed segment; a torn last line is skipped. A line is a round's list of
        [provider id, stat, err], or one receipt's (segments an earlier version wrote)."""
        items = []
        with open(path, "rb") as file:
            for number, line in enumerate(file, 1):
                try:
                    parsed = json.loads(line)
                    receipts = parsed if parsed and isinstance(parsed[0], list) else [parsed]
                    round_ = [(provider_id, stat, err) for provider_id, stat, err in receipts]
                except ValueError:
                    log.warning("%s: line %s is incomplete (written when the gateway died); skipped", path, number)
                    continue
                items.extend(round_)
        return items

    def done(self, path):
        """The segment is applied: it goes."""
        with self._lock:
            self._sealed.remove(path)
        path.unlink(missing_ok=True)

    def close(self):
        """Syncs and closes the open segment (the gateway stops); it is applied at the next start."""
        with self._lock:
            self._close_segment()


__all__ = ["SYNC_INTERVAL", "ReceiptJournal", "journal_name"]
