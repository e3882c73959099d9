"""The gateway: the long-lived process that holds the provider connections and sends batches.

One asyncio loop, one sender per connection, by its kind (`senders`): an SmppClient (its binds and
window are the connection's) or, for an HTTP connection, a CloudClient speaking the cloud's
batchSendSms (sms.cloud_client), and per connection a few consumers that take batch jobs from the
connection's Redis list. Jobs move atomically to a processing list of this gateway (BLMOVE) and
leave it only once the batch is handled, so a gateway killed mid-batch finds its jobs again when it starts.

For each chunk of a batch the gateway reads the campaign status (pause and cancel take effect
within a chunk), takes tokens for the chunk's segments from the shared bucket, claims the messages
queued → sending (compare-and-set: only what this call moved is submitted, which makes a job
pushed twice harmless), submits them concurrently through the client's window and writes the
results in bulk. A message whose answer was lost becomes UNKNOWN and is never sent again.

The ORM runs in a small thread pool: Django's connections are per thread and blocking, and the
event loop must keep answering the SMSC (receipts, enquire_link) while the database works.
"""

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import socket
import time
from itertools import islice

from django.db import connection as db_connection
from django.db.utils import DatabaseError, InterfaceError, OperationalError
from redis.exceptions import RedisError

from campaigns import connection_state, dispatch, lifecycle, planning, receipt_journal, receipts, replies, sending_rules
from campaigns.models import Batch, Campaign, Message, ProviderConnection
from campaigns.ratelimit import AsyncTokenBucket, bucket_key
from campaigns.redis_client import get_async_redis
from sms.retry import retry_async
from sms.smpp.client import RECEIPT_ROUNDS

log = logging.getLogger(__name__)

# At most CONSUMERS x CHUNK_SIZE messages of a connection are claimed (SENDING) at once, which
# bounds what a killed gateway leaves unknown. Two consumers of 400 rather than four of 200: while
# one claims, the other's chunk is on the wire, and the claim's fixed cost per chunk (about fifteen
# statements and a Redis call) is paid half as often. At 200,000 recipients (bench_send, window
# 10) the gateway's CPU per 100,000 messages fell from 19.9 s to 13.0 s (docs/benchmarks.md).
CHUNK_SIZE = 400
CONSUMERS = 2
# Consumers per connection that take only from its priority list (small API sends): a verification
# code never waits for a bulk consumer to finish its batch.
PRIORITY_CONSUMERS = 2
# A message refused this many times for a passing reason (throttling that outlasted the client's
# own retries) fails for good instead of going round for ever.
MAX_ATTEMPTS = 5
RETRY_PAUSE = 2.0
# Ids of the extra parts of messages planned in one segment but sent in more (a disagreement of
# the text rules, logged by the lifecycle), whose receipts match nothing.
MAX_IGNORED_IDS = 500_000
AMBIGUOUS_ERROR = lifecycle.AMBIGUOUS_ERROR
# A gateway refreshes its liveness key this often (a third of it); the sweeper leaves the jobs of a
# live gateway alone.
HEARTBEAT_TTL = 30
# How often the gateway reads the enabled connections again: one added, changed or disabled while it
# runs is served (or let go) within this, without a restart.
RELOAD_INTERVAL = 2.0
# After a stop signal, submits in flight get this long to be answered before the client closes.
STOP_GRACE = 3.0
# The receipt journal (campaigns.receipt_journal) is applied this long after its first new receipt,
# so that each transaction applies many; and at most this many receipts per transaction.
JOURNAL_GATHER = 0.05
JOURNAL_APPLY_CHUNK = 5000


# --- database side (plain functions, run in the gateway's DB threads) ---------------------------


def load_batch(batch_id):
    """The batch with what the gateway needs of its campaign, or None if it is gone."""
    batch = Batch.objects.filter(pk=batch_id).select_related("campaign").first()
    return batch


def campaign_status(campaign_id):
    return Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()


def campaign_text(campaign_id):
    """(template pieces, source address, the remote templateId or None) of a campaign; cached by
    the caller. Only an HTTP connection has remote templateIds (ProviderConnection.remote_template_id)."""
    campaign = Campaign.objects.select_related("signature", "template", "connection").get(pk=campaign_id)
    connection = campaign.connection
    remote = connection.remote_template_id(campaign.template_id) if connection.is_http else None
    return planning.campaign_text(campaign), connection.source_for(campaign.signature), remote


def queued_messages(batch):
    """(id, phone, variables, segments) of the batch's queued messages, in id order.

    A plain cursor: the queryset's values_list took 11 µs a row against 6 here (timeit, 400 rows on
    PostgreSQL), most of it per-row converters. Django's connections hand JSON columns over as text
    on both databases (its field parses them), so the variables are parsed here."""
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, phone, variables, segments FROM campaigns_message "
            "WHERE campaign_id = %s AND id >= %s AND id <= %s AND status = %s ORDER BY id",
            [batch.campaign_id, batch.first_id, batch.last_id, Message.Status.QUEUED],
        )
        return [(message_id, phone, json.loads(values), segments) for message_id, phone, values, segments in cursor]


def claim_messages(campaign_id, message_ids):
    """Queued → sending while the campaign runs (lifecycle.claim); {id: attempts} of what moved."""
    return lifecycle.claim(campaign_id, message_ids)


def record_results(campaign_id, results, attempts):
    """Sorts a chunk's submit results by outcome and records them in one transaction
    (lifecycle.record_submits); returns the counter deltas."""
    submitted, failed, ambiguous, retry, exhausted = [], {}, [], [], []
    for result in results:
        if result.ok:
            # Every segment's id: a long message's receipts come one per segment (lifecycle.MessagePart).
            submitted.append((result.ref, tuple(result.message_ids)))
        elif result.ambiguous:
            ambiguous.append(result.ref)
        elif result.permanent:
            key = (str(result.command_status) if result.command_status else "", result.error[:200])
            failed.setdefault(key, []).append(result.ref)
        elif attempts.get(result.ref, 0) >= MAX_ATTEMPTS:
            exhausted.append(result.ref)
        else:
            retry.append(result.ref)  # never written to the SMSC (or refused as throttled)
    # sending_rules.record gives back the money and quota of what did not go out, in the same commit.
    return sending_rules.record(
        campaign_id,
        lambda: lifecycle.record_submits(
            submitted=submitted, failed=failed, unknown=ambiguous, requeue=retry, exhausted=exhausted
        ),
        [*exhausted, *(ref for refs in failed.values() for ref in refs)],
        retry,
    )


def hand_back(batch):
    """A paused campaign's batch goes back to pending; if a resume crossed the pause, push again."""
    dispatch.hand_back(batch.pk)
    if campaign_status(batch.campaign_id) == Campaign.Status.RUNNING:
        dispatch.dispatch(batch.campaign_id)


def finish_batch(batch):
    """After a batch: mark it done if nothing is queued, push the next one, complete the campaign.

    An API send's batch (one per request) is deleted once done, so its hidden campaign keeps only
    the batches still to send and dispatch reads a few rows, not one per request ever made."""
    done = dispatch.finish_batch(batch)
    if batch.campaign.source == Campaign.Source.API:
        if done:
            Batch.objects.filter(pk=batch.pk, status=Batch.Status.DONE).delete()
        if not Batch.objects.filter(campaign_id=batch.campaign_id, status=Batch.Status.PENDING).exists():
            return done
    dispatch.dispatch(batch.campaign_id)
    return done


# --- the asyncio side -----------------------------------------------------------------------------


# How long a consumer waits for a bind before logging and waiting again.
BIND_WAIT = 30.0


class DatabaseThreads:
    """Runs ORM calls in a few dedicated threads, each keeping its own Django connection.

    Anything with the same call signature and a shutdown() can stand in (tests run the calls inline).
    """

    def __init__(self, size):
        self.size = size
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=size, thread_name_prefix="gateway-db")
        self.retired = []

    async def __call__(self, func, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, _with_healthy_connection, func, args)

    def reserve(self, size):
        """Room for `size` calls at once (a connection added while running); a larger pool takes over."""
        if size > self.size:
            self.retired.append(self.pool)
            self.size = size
            self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=size, thread_name_prefix="gateway-db")

    def shutdown(self):
        for pool in (*self.retired, self.pool):
            pool.submit(db_connection.close)
            pool.shutdown(wait=True)


def _with_healthy_connection(func, args):
    # close_old_connections() would close the connection on every call with CONN_MAX_AGE = 0;
    # here a connection is kept until it breaks (a database restart), then replaced.
    if db_connection.errors_occurred:
        if not db_connection.is_usable():
            db_connection.close()
        db_connection.errors_occurred = False
    try:
        return func(*args)
    except (OperationalError, InterfaceError):
        db_connection.close()
        raise


def chunks(items, size):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class ConnectionRunner:
    """Everything the gateway does for one provider connection."""

    def __init__(self, gateway, connection):
        self.gateway = gateway
        self.connection = connection
        self.db = gateway.db
        self.redis = get_async_redis(gateway.redis_url)
        self.queue = dispatch.queue_key(connection.pk)
        self.priority = dispatch.priority_key(connection.pk)
        self.processing = dispatch.processing_key(connection.pk, gateway.gateway_id)
        self.bucket = AsyncTokenBucket(self.redis, bucket_key(connection.pk), connection.tps)
        self.chunk_size = max(1, min(gateway.chunk_size, connection.tps or gateway.chunk_size))
        self.sender = gateway.senders[connection.kind]
        self.client = self.sender.client(gateway, connection, self)
        self.texts = {}
        self.ignored_ids = {}
        self.receipts_waiting = asyncio.Event()
        # Receipts go to the journal before they are acknowledged, and from it to the database in
        # batches; without one (in-process tests) each round is stored by receipts.ingest itself.
        self.journal = gateway.journal_for(connection)
        self.journal_io = (
            concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-journal")
            if self.journal
            else None
        )
        self.journal_waiting = asyncio.Event()
        # Set by the gateway: it stops, or this connection was disabled, removed or changed.
        self.stopping = asyncio.Event()
        self.closed = False
        self.stats = {
            "submitted": 0,
            "failed": 0,
            "unknown": 0,
            "requeued": 0,
            "skipped": 0,
            "receipts": 0,
            "applied": 0,
            "replies": 0,
            "batches": 0,
        }

    async def run(self):
        stopping = self.stopping
        await self.client.start()
        await self.recover()
        tasks = [
            asyncio.create_task(self.consume(stopping, n), name=f"consumer-{self.connection.name}-{n}")
            for n in range(self.gateway.consumers)
        ]
        tasks += [
            asyncio.create_task(
                self.consume(stopping, n, priority_only=True), name=f"priority-{self.connection.name}-{n}"
            )
            for n in range(self.gateway.priority_consumers)
        ]
        applier = asyncio.create_task(self.apply_receipts(stopping), name=f"receipts-{self.connection.name}")
        journal = asyncio.create_task(self.apply_journal(), name=f"journal-{self.connection.name}")
        syncer = asyncio.create_task(self.sync_journal(), name=f"journal-sync-{self.connection.name}")
        reporter = asyncio.create_task(self.report_state(stopping), name=f"state-{self.connection.name}")
        try:
            await stopping.wait()
            # Consumers stop between chunks; a chunk in flight gets a moment to be answered.
            await asyncio.wait(tasks, timeout=STOP_GRACE)
        finally:
            stopping.set()
            # Closing the client ends what still waits on the SMSC, whatever its state (binding,
            # reconnecting, mid-window): a submit never written comes back as a retry and its message
            # is queued again, one written without an answer comes back ambiguous and becomes unknown.
            # The client acknowledges the receipts it still holds (applied or stored by on_receipts) first.
            await self.client.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(reporter, return_exceptions=True)
            self.closed = True
            self.receipts_waiting.set()
            self.journal_waiting.set()
            await asyncio.gather(applier, journal, syncer, return_exceptions=True)
            if self.journal:
                # Everything acknowledged is applied before the gateway exits; what a failure here
                # leaves is applied at the next start.
                try:
                    await self.drain_journal()
                except Exception:
                    log.exception("%s: the receipt journal is left to the next start", self.connection.name)
                finally:
                    self.journal.close()
                    self.journal_io.shutdown(wait=True)
            await self.db(receipts.apply_pending, self.connection.pk)
            with contextlib.suppress(RedisError, OSError):
                await connection_state.withdraw(
                    self.redis, self.connection.pk, self.gateway.gateway_id, "the gateway stopped serving it"
                )
            await self.redis.aclose()

    async def report_state(self, stopping):
        """Tells the pages whether this connection has a bound session, and if not, why."""
        host = address(self.connection)
        while not stopping.is_set():
            bound = self.client.bound_sessions
            reason = "" if bound else (self.client.last_bind_error or f"binding to {host}")
            try:
                await connection_state.publish(self.redis, self.connection.pk, self.gateway.gateway_id, bound, reason)
            except (RedisError, OSError) as error:
                log.warning("%s: cannot publish the bind state (%s)", self.connection.name, error)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(connection_state.PUBLISH_INTERVAL):
                    await stopping.wait()

    async def recover(self):
        """Jobs this gateway held when it last stopped go back to the front of the queue."""
        recovered = 0
        while await self.redis.lmove(self.processing, self.queue, "RIGHT", "RIGHT"):
            recovered += 1
        if recovered:
            log.warning("%s: %s unfinished jobs from the last run are queued again", self.connection.name, recovered)

    async def next_job(self, priority_only):
        """(the next job, whether it came from the priority list), moved into this gateway's
        processing list: from the priority list if one waits there, else (unless `priority_only`)
        from the bulk list, blocking up to the poll interval."""
        timeout = self.gateway.poll_interval
        if priority_only:
            return await self.redis.blmove(self.priority, self.processing, timeout, "RIGHT", "LEFT"), True
        job = await self.redis.lmove(self.priority, self.processing, "RIGHT", "LEFT")
        if job is not None:
            return job, True
        return await self.redis.blmove(self.queue, self.processing, timeout, "RIGHT", "LEFT"), False

    async def consume(self, stopping, number, priority_only=False):
        while not stopping.is_set():
            try:
                job, priority = await self.next_job(priority_only)
            except (RedisError, OSError) as error:
                if stopping.is_set():
                    return
                log.warning("%s: Redis unavailable (%s); retrying", self.connection.name, error)
                await asyncio.sleep(1)
                continue
            if job is None:
                continue
            try:
                finished = await self.send_batch(job, stopping, priority)
            except (RedisError, OSError) as error:
                # A Redis timeout or restart mid-batch (the bucket, the caps, the next push). The job
                # goes back on the queue once Redis answers: left on this live gateway's processing
                # list, the sweeper would never take it and the batch would wait for a restart. The
                # retry sends only what is still queued (claims are compare-and-set), never a message
                # already claimed.
                log.warning("%s: Redis unavailable during job %s (%s)", self.connection.name, job, error)
                await asyncio.sleep(1)
                await self._requeue(job, stopping)
                continue
            except Exception:
                # Back on the queue for another try (claims are compare-and-set, so a message the
                # failed pass already handed over is not sent again). Left on the processing list,
                # a live gateway would hold the job, and its campaign slot, until it restarted.
                log.exception("%s: job %s failed; queued again", self.connection.name, job)
                await asyncio.sleep(1)
                await self._requeue(job, stopping)
                continue
            if finished:
                await self._forget(job)

    async def _requeue(self, job, stopping):
        async def requeue():
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.lrem(self.processing, 1, job).rpush(self.queue, job).execute()

        # Until it is done or the gateway stops (then recover() takes the job up at the next start).
        while not await self._retry_redis(requeue, f"{self.connection.name}: queueing job {job} again"):
            if stopping.is_set():
                return

    async def _forget(self, job):
        await self._retry_redis(
            lambda: self.redis.lrem(self.processing, 1, job), f"{self.connection.name}: removing finished job {job}"
        )

    async def _retry_redis(self, call, what):
        # 30 tries a second apart; past that the job stays where it is and the sweepers recover it.
        try:
            await retry_async(call, errors=(RedisError, OSError), what=what, attempts=30, logger=log)
        except (RedisError, OSError):
            log.error("%s: gave up", what)
            return False
        return True

    async def send_batch(self, job, stopping, priority=False):
        """Sends one batch; returns False when interrupted by a stop (the job is kept). A priority
        job's submits wait for the window ahead of the bulk chunks'."""
        campaign_id, batch_id = dispatch.parse_job(job)
        batch = await self.db(load_batch, batch_id)
        if batch is None or batch.status != Batch.Status.PUSHED or batch.campaign_id != campaign_id:
            return True  # already done, handed back, or a stale copy
        status = batch.campaign.status
        if status != Campaign.Status.RUNNING:
            await self.stop_batch(batch, status)
            return True
        # An HTTP connection reads the campaign's remote templateId for each batch: one added or
        # changed in the admin applies from the next batch, without serving the connection anew.
        if campaign_id not in self.texts or self.connection.is_http:
            self.texts[campaign_id] = await self.db(campaign_text, campaign_id)
        pieces, source, remote_template = self.texts[campaign_id]
        for attempt in range(MAX_ATTEMPTS + 1):
            messages = await self.db(queued_messages, batch)
            requeued = 0
            for chunk in chunks(messages, self.chunk_size):
                if stopping.is_set():
                    return False
                # The claim reads the campaign's status (a pause or cancel stops the batch here).
                chunk_requeued, status = await self.send_chunk(
                    campaign_id, chunk, pieces, source, stopping, remote_template, priority
                )
                requeued += chunk_requeued
                if status != Campaign.Status.RUNNING:
                    await self.stop_batch(batch, status)
                    return True
            if not requeued:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RETRY_PAUSE * (attempt + 1)):
                    await stopping.wait()
        # A send-time rule may have held the campaign at the batch's last chunk (sending_rules).
        status = await self.db(campaign_status, campaign_id)
        if status != Campaign.Status.RUNNING:
            await self.stop_batch(batch, status)
            return True
        self.stats["batches"] += 1
        await self.db(finish_batch, batch)
        return True

    async def stop_batch(self, batch, status):
        if status == Campaign.Status.PAUSED:
            await self.db(hand_back, batch)
        elif status == Campaign.Status.CANCELLED:
            # A chunk in flight when the cancel came can put throttled messages back in the queue
            # after cancel_queued ran; cancel them too (it is idempotent).
            await self.db(dispatch.cancel_queued, batch.campaign_id)

    async def wait_for_bind(self, stopping):
        """Claim only with a bind up: a claimed message waiting out an SMSC outage would be marked
        unknown by the stuck-sending sweeper although it was never written. False if stopping."""
        waited = 0.0
        while not self.client.bound_sessions:
            if stopping is not None and stopping.is_set():
                return False
            if waited and waited % BIND_WAIT < 1.0:
                log.warning("%s: no bound session for %.0f s; holding the batch", self.connection.name, waited)
            try:
                await self.client.wait_connected(timeout=1.0)
            except TimeoutError:
                waited += 1.0
        return True

    async def send_chunk(self, campaign_id, chunk, pieces, source, stopping=None, remote_template=None, priority=False):
        """Claims and sends one chunk; returns (how many went back to the queue, the campaign's
        status as the claim read it)."""
        if not await self.wait_for_bind(stopping):
            return 0, Campaign.Status.RUNNING  # stopping: the batch loop sees it before the next chunk
        await self.bucket.acquire(sum(segments for _id, _phone, _vars, segments in chunk))
        # The send-time rules (opt-outs, caps, quiet hours, quota, balance) claim what may go out.
        verdict = await self.db(sending_rules.claim, campaign_id, chunk, pieces)
        self.stats["skipped"] += sum(len(ids) for ids in verdict.skipped.values())
        attempts = verdict.attempts
        if not attempts:
            return 0, verdict.status
        texts = verdict.texts
        requests = [
            self.sender.request(message_id, source, phone, texts[message_id], variables, remote_template, priority)
            for message_id, phone, variables, _segments in chunk
            if message_id in attempts
        ]
        results = await self.client.submit_many(requests)
        planned = {message_id: segments for message_id, _phone, _vars, segments in chunk}
        for result in results:
            # A message planned in several segments has a part for each (lifecycle.MessagePart).
            if result.ok and len(result.message_ids) > 1 and planned.get(result.ref) == 1:
                for extra in result.message_ids[1:]:
                    self.ignored_ids[extra] = None
        while len(self.ignored_ids) > MAX_IGNORED_IDS:
            del self.ignored_ids[next(iter(self.ignored_ids))]
        deltas = await self.record(campaign_id, results, attempts)
        for name in ("submitted", "failed", "unknown"):
            self.stats[name] += deltas.get(name, 0)
        self.stats["requeued"] += deltas.get("queued", 0)
        # Receipts that came before these results were recorded can match now.
        self.receipts_waiting.set()
        return deltas.get("queued", 0), verdict.status

    async def record(self, campaign_id, results, attempts):
        """Writes submit results, retrying through a database outage: these messages reached the
        provider, and results lost here would leave them to the stuck-sending sweeper as unknown."""
        return await retry_async(
            lambda: self.db(record_results, campaign_id, results, attempts),
            errors=(OperationalError, InterfaceError),
            what=f"{self.connection.name}: recording {len(results)} results",
            attempts=13,
            delay=0.5,
            backoff=2.0,
            logger=log,
        )

    async def on_receipts(self, items):
        """Called by the client; the SMSC gets its deliver_sm_resp only after this returns."""
        kept = []
        for receipt in items:
            if receipt.message_id in self.ignored_ids:
                del self.ignored_ids[receipt.message_id]
            else:
                kept.append(receipt)
        if kept and self.journal:
            items = receipts.final(kept)
            if items:
                if self.journal.sync_each:
                    # A sync waits for the disk: in the journal's thread, not on the event loop.
                    await asyncio.get_running_loop().run_in_executor(self.journal_io, self.journal.append, items)
                else:
                    # A write to the page cache takes microseconds; a hop to the journal's thread and
                    # back cost 40 % of the receipts let in (bench_receipts, 200,000: 8,497/s against 14,220/s).
                    self.journal.append(items)
                self.journal_waiting.set()
        elif kept:
            # Threads of their own: a carrier lets only a few receipts wait for their resp, so the
            # time they queue behind claims and results would cap how many arrive per second.
            received, applied = await self.gateway.receipt_db(receipts.ingest, self.connection.pk, kept)
            self.stats["receipts"] += received  # after the await: rounds run concurrently
            self.stats["applied"] += applied
            if applied < received:
                self.receipts_waiting.set()  # some came before their submit result was recorded

    async def apply_journal(self):
        """Applies the journal's receipts to the database in batches while the connection is served."""
        if not self.journal:
            return
        self.journal_waiting.set()  # what an earlier run left
        while not self.closed:
            try:
                async with asyncio.timeout(5.0):
                    await self.journal_waiting.wait()
            except TimeoutError:
                continue
            if self.closed:
                return
            await asyncio.sleep(JOURNAL_GATHER)  # lets receipts gather, so each transaction applies many
            self.journal_waiting.clear()
            try:
                await self.drain_journal()
            except Exception:
                log.exception("%s: applying the receipt journal failed; retrying", self.connection.name)
                await asyncio.sleep(1)
                self.journal_waiting.set()

    async def sync_journal(self):
        """Puts the journal on the disk every SYNC_INTERVAL (SMS_RECEIPT_JOURNAL_SYNC=interval)."""
        if not self.journal or self.journal.sync_each:
            return
        loop = asyncio.get_running_loop()
        while not self.closed:
            await asyncio.sleep(receipt_journal.SYNC_INTERVAL)
            if self.journal.dirty:
                try:
                    await loop.run_in_executor(self.journal_io, self.journal.sync)
                except OSError:
                    log.exception("%s: syncing the receipt journal failed", self.connection.name)

    async def drain_journal(self):
        """Seals the open segment and applies every sealed one, oldest first, deleting each once its
        receipts are committed (applying one again after a crash is harmless: receipt_journal)."""
        loop = asyncio.get_running_loop()
        for path in await loop.run_in_executor(self.journal_io, self.journal.seal):
            items = await loop.run_in_executor(self.journal_io, self.journal.read, path)
            for chunk in chunks(items, JOURNAL_APPLY_CHUNK):
                received, applied = await self.gateway.receipt_db(receipts.ingest_final, self.connection.pk, chunk)
                self.stats["receipts"] += received
                self.stats["applied"] += applied
                if applied < received:
                    self.receipts_waiting.set()  # some came before their submit result was recorded
            await loop.run_in_executor(self.journal_io, self.journal.done, path)

    async def on_inbound(self, items):
        """Replies (MO), stored with their opt-outs and pushes in one commit (campaigns.replies)
        before the client acknowledges them: a failure here makes the client retry, not drop."""
        stored = await self.db(replies.store, self.connection.pk, items)
        self.stats["replies"] += stored  # after the await: the client's rounds run concurrently

    def receipt_rounds(self):
        """How the client's store-and-acknowledge rounds went, for the periodic log line."""
        stats = getattr(self.client, "stats", {})
        rounds = stats.get("handovers", 0)
        mean = stats.get("handover_seconds", 0.0) / rounds * 1000 if rounds else 0.0
        return f"receipt rounds {rounds} (mean {mean:.1f} ms, at most {stats.get('peak_rounds', 0)} at once)"

    async def apply_receipts(self, stopping):
        # Ends on self.closed rather than by cancellation, which Python 3.11's wait_for can swallow.
        while not self.closed:
            try:
                async with asyncio.timeout(5.0):
                    await self.receipts_waiting.wait()
            except TimeoutError:
                pass
            self.receipts_waiting.clear()
            if self.closed:
                return
            try:
                self.stats["applied"] += await self.db(receipts.apply_pending, self.connection.pk)
            except Exception:
                log.exception("%s: applying receipts failed; retrying", self.connection.name)
                await asyncio.sleep(1)
                self.receipts_waiting.set()
                continue
            # Lets receipts gather, so each pass applies many at once.
            await asyncio.sleep(0.2)


class SmppSender:
    """An SMPP connection: the runner's client is an SmppClient (or the gateway's client_factory)."""

    @staticmethod
    def client(gateway, connection, runner):
        return gateway.client_factory(
            connection.host,
            connection.port,
            connection.system_id,
            connection.password,
            system_type=connection.system_type,
            binds=gateway.binds_for(connection),
            window=connection.window,
            on_receipts=runner.on_receipts,
            on_inbound=runner.on_inbound,
        )

    @staticmethod
    def request(message_id, source, phone, rendered, variables, remote_template, priority=False):
        """`rendered`: the message's text as the claim rendered it for the frequency caps."""
        from sms.smpp.client import SubmitRequest

        return SubmitRequest(message_id, source, phone, rendered, priority=priority)


class HttpSender:
    """An HTTP connection: batchSendSms with X-WSSE (sms.cloud_client), at most `window` requests in
    flight; its status reports come back to this console's receiver (campaigns.views.provider_reports),
    not through the client. The remote service renders the template: a submit carries the values."""

    @staticmethod
    def client(gateway, connection, runner):
        return gateway.http_client_factory(
            connection.base_url,
            connection.app_key,
            connection.app_secret,
            status_callback=status_callback_url(connection),
            window=connection.window,
        )

    @staticmethod
    def request(message_id, source, phone, rendered, variables, remote_template, priority=False):
        from sms.cloud_client import CloudSubmit

        return CloudSubmit(message_id, source, phone, remote_template, tuple(variables or ()))


def status_callback_url(connection):
    """Where the remote service pushes this connection's status reports (settings.CONSOLE_URL)."""
    from django.conf import settings
    from django.urls import reverse

    path = reverse("campaigns:provider_status_reports", args=[connection.callback_token])
    return settings.CONSOLE_URL.rstrip("/") + path


class Gateway:
    """Serves provider connections: `connections` as given, or with `load_connections` (a plain
    function returning the connections to serve, run in a DB thread) those it returns, read again
    every `reload_interval` seconds. `senders` says, per connection kind, how its runner's client
    is made and what a submit to it looks like."""

    senders = {ProviderConnection.Kind.SMPP: SmppSender, ProviderConnection.Kind.HTTP: HttpSender}

    def __init__(self, connections=(), *, gateway_id=None, consumers=CONSUMERS, chunk_size=CHUNK_SIZE,
                 redis_url=None, client_factory=None, stats_interval=10.0, db=None, poll_interval=1.0,
                 load_connections=None, reload_interval=RELOAD_INTERVAL, http_client_factory=None,
                 priority_consumers=PRIORITY_CONSUMERS, share=(0, 1), journal_dir=None,
                 journal_sync="interval"):  # fmt: skip
        self.connections = list(connections)
        # (this process's number, how many processes) when several share the connections' binds
        # (run_gateway --processes); see binds_for.
        self.share = share
        # Where each connection's receipt journal lives (run_gateway: SMS_RECEIPT_JOURNAL_DIR); None:
        # no journal, each receipt round is committed to the database before it is acknowledged.
        self.journal_dir = journal_dir
        self.journal_sync = journal_sync
        self.load_connections = load_connections
        self.reload_interval = reload_interval
        self.gateway_id = gateway_id or socket.gethostname()
        self.consumers = consumers
        self.priority_consumers = priority_consumers
        self.chunk_size = chunk_size
        self.redis_url = redis_url
        self.stats_interval = stats_interval
        self.poll_interval = poll_interval  # how long an idle consumer blocks on Redis; bounds stop time
        if client_factory is None:
            from sms.smpp.client import SmppClient

            client_factory = SmppClient
        self.client_factory = client_factory
        if http_client_factory is None:
            from sms.cloud_client import CloudClient

            http_client_factory = CloudClient
        self.http_client_factory = http_client_factory
        self.db = db or DatabaseThreads(self.threads_for(max(1, len(self.connections))))
        # The client's store-and-acknowledge rounds in flight at once (sms.smpp.client.RECEIPT_ROUNDS),
        # per connection: they must not queue behind claims and results.
        self.receipt_db = db or DatabaseThreads(max(1, len(self.connections)) * RECEIPT_ROUNDS)
        self.runners = []  # every runner started, in order
        self.active = {}  # connection id -> (runner, its task)

    def binds_for(self, connection):
        """This process's part of the connection's binds: max_binds split as evenly as it goes over
        the processes sharing it, so together they never bind more than the provider allows. An
        HTTP connection (no binds) is served by the first process only. 0: not served here.

        Sharing needs nothing else: each process takes whole jobs off the connection's list into
        its own processing list (its own gateway id), claims are compare-and-set, and a receipt
        is applied by whichever process's bind it reaches, matched in the database."""
        number, processes = self.share
        if connection.is_http:
            return 1 if number == 0 else 0
        binds, extra = divmod(connection.max_binds, processes)
        return binds + (1 if number < extra else 0)

    def journal_for(self, connection):
        if not self.journal_dir or connection.is_http:
            return None
        from django.conf import settings

        name = receipt_journal.journal_name(
            settings.DATABASES["default"], self.gateway_id, connection.pk, connection.callback_token
        )
        return receipt_journal.ReceiptJournal(self.journal_dir, name, sync_each=self.journal_sync == "each")

    def threads_for(self, connections):
        return connections * (self.consumers + self.priority_consumers + 2) + 1

    async def run(self, stopping):
        reporter = asyncio.create_task(self.report(stopping))
        try:
            await self.supervise(stopping)
        finally:
            await self.stop_runners(list(self.active))
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
            self.db.shutdown()
            if self.receipt_db is not self.db:
                self.receipt_db.shutdown()

    async def supervise(self, stopping):
        """Keeps one runner per connection to serve until `stopping`; a runner that fails ends the gateway."""
        stop_wait = asyncio.create_task(stopping.wait())
        try:
            while not stopping.is_set():
                wanted = await self.wanted_connections()
                if wanted is not None:
                    await self.reconcile(wanted)
                tasks = [task for _runner, task in self.active.values()]
                await asyncio.wait([stop_wait, *tasks], timeout=self.reload_interval, return_when="FIRST_COMPLETED")
                for pk, (_runner, task) in list(self.active.items()):
                    if task.done():
                        del self.active[pk]
                        task.result()  # re-raises what ended it
        finally:
            stop_wait.cancel()

    async def wanted_connections(self):
        if self.load_connections is None:
            return self.connections
        try:
            return await self.db(self.load_connections)
        except DatabaseError as error:
            log.warning(
                "gateway %s: cannot read the connections (%s); keeping the current ones", self.gateway_id, error
            )
            return None

    async def reconcile(self, wanted):
        wanted = {connection.pk: connection for connection in wanted if self.binds_for(connection)}
        for pk, (runner, _task) in list(self.active.items()):
            connection = wanted.get(pk)
            if connection is None:
                log.info(
                    "gateway %s: %s is disabled or removed; letting it go", self.gateway_id, runner.connection.name
                )
                await self.stop_runners([pk])
            elif served_settings(connection) != served_settings(runner.connection):
                log.info("gateway %s: %s changed; binding again", self.gateway_id, connection.name)
                await self.stop_runners([pk])
        for pk, connection in wanted.items():
            if pk not in self.active:
                self.start_runner(connection)

    def start_runner(self, connection):
        if hasattr(self.db, "reserve"):
            self.db.reserve(self.threads_for(len(self.active) + 1))
        if self.receipt_db is not self.db and hasattr(self.receipt_db, "reserve"):
            self.receipt_db.reserve((len(self.active) + 1) * RECEIPT_ROUNDS)
        runner = ConnectionRunner(self, connection)
        self.runners.append(runner)
        task = asyncio.create_task(runner.run(), name=f"connection-{connection.name}")
        self.active[connection.pk] = (runner, task)
        log.info("gateway %s: serving %s", self.gateway_id, describe(connection))

    async def stop_runners(self, pks):
        stopped = [self.active.pop(pk) for pk in pks if pk in self.active]
        for runner, _task in stopped:
            runner.stopping.set()
        results = await asyncio.gather(*(task for _runner, task in stopped), return_exceptions=True)
        for (runner, _task), result in zip(stopped, results, strict=True):
            if isinstance(result, Exception):
                log.error("%s: stopped with %r", runner.connection.name, result)

    async def report(self, stopping):
        """Logs each connection's rate while it changes, and keeps this gateway's liveness key."""
        redis = get_async_redis(self.redis_url)
        last, last_time = {}, time.monotonic()
        try:
            while not stopping.is_set():
                try:
                    await redis.set(dispatch.alive_key(self.gateway_id), "1", ex=HEARTBEAT_TTL)
                except (RedisError, OSError) as error:
                    log.warning("gateway %s: cannot refresh its liveness key (%s)", self.gateway_id, error)
                await asyncio.sleep(min(self.stats_interval, HEARTBEAT_TTL / 3))
                now = time.monotonic()
                if now - last_time < self.stats_interval:
                    continue
                for runner, _task in list(self.active.values()):
                    current = dict(runner.stats)
                    if current != last.get(runner):
                        rate = (current["submitted"] - last.get(runner, {}).get("submitted", 0)) / (now - last_time)
                        rounds = runner.receipt_rounds()
                        log.info("%s: %.0f msg/s; %s; %s", runner.connection.name, rate, current, rounds)
                        last[runner] = current
                last_time = now
        finally:
            await redis.aclose()


def served_settings(connection):
    """What a runner was built from: a change to any of these binds the connection again."""
    return (
        connection.kind,
        connection.base_url,
        connection.app_key,
        connection.callback_token,
        connection.host,
        connection.port,
        connection.system_id,
        connection.password,
        connection.system_type,
        connection.tps,
        connection.max_binds,
        connection.window,
        connection.source_rule,
        connection.source_address,
    )


def address(connection):
    return connection.base_url if connection.is_http else f"{connection.host}:{connection.port}"


def describe(connection):
    c = connection
    if c.is_http:
        return f"{c.name} (HTTP {c.base_url}, {c.window} requests in flight, {c.tps or 'no'} TPS)"
    return f"{c.name} ({c.host}:{c.port}, {c.max_binds} binds, window {c.window}, {c.tps or 'no'} TPS)"


def enabled_connections(names=None):
    connections = ProviderConnection.objects.filter(enabled=True, kind__in=list(Gateway.senders))
    if names:
        connections = connections.filter(name__in=names)
    return list(connections)
