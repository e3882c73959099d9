"""`manage.py bench_receipts`: N delivery receipts applied to submitted messages, measured.

PostgreSQL and Redis only. Plans a campaign of N messages and records them submitted with the
gateway's own functions (claim_messages, record_results), each with a provider id the simulator is
then told to send receipts for (POST /receipts): each receipt its own deliver_sm, at most
`--receipt-window` per bind unacknowledged. `run_gateway` receives them over SMPP and stores and
applies them as in production. One message in 20 (`--early`) is claimed but its submit result is
recorded only once its receipt has been stored (it is in PendingReceipt): the receipt arrived
before the submit response, and record_results then apply_pending, the gateway's own sequence for
it, match it. Prints receipts per second from the first receipt sent to the last one applied, the
rate the receipts were acknowledged (stored) and applied per tenth, and each child's peak RSS; then
deletes the campaign's rows (unless --keep). Several --receipt-window values make one run each.
`--segments N` makes every message N segments long, each with its own provider id and receipt
(N × the receipts, matched to MessageParts); `--receipts` stays the number of messages.
"""

import itertools
import json
import signal
import sys
import time
import urllib.request
import uuid

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, transaction

from campaigns import dispatch, gateway, planning, receipts
from campaigns.management.commands import bench_send
from campaigns.management.commands.bench_send import SYSTEM_ID, Child, sustained
from campaigns.models import Batch, Campaign, Message, PendingReceipt
from campaigns.redis_client import get_redis

CONNECTION_NAME = "bench-receipts"
CHUNK = 5000


class Result:
    """What record_results reads of a submit result (sms.smpp.client.SubmitResult's fields)."""

    __slots__ = ("ref", "message_ids")
    ok, ambiguous, permanent = True, False, False

    def __init__(self, ref, provider_ids):
        self.ref, self.message_ids = ref, tuple(provider_ids)


class Command(bench_send.Command):
    help = "Applies N delivery receipts, sent over SMPP by the simulator, to submitted messages, and measures it."

    def add_arguments(self, parser):
        parser.add_argument("--receipts", type=int, default=1_000_000)
        parser.add_argument("--binds", type=int, default=2)
        parser.add_argument(
            "--early", type=int, default=20, help="one message in this many gets its receipt before its submit result"
        )
        parser.add_argument(
            "--segments", type=int, default=1, help="segments per message, each with its own id and receipt"
        )
        parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
        self.add_run_arguments(parser)

    def handle(self, *args, **options):
        signal.signal(signal.SIGTERM, bench_send._exit_on_sigterm)  # stop the children (bench_send.handle)
        self.refuse_without_postgresql_and_redis(broker=False)
        count = options["receipts"]
        self.segments = max(1, options["segments"])

        def header(receipt_window):
            return (
                f"database: postgresql, messages: {count:,} of {self.segments} segment(s), receipts: "
                f"{count * self.segments:,} (1 message in {options['early']} before its submit result), "
                f"binds: {options['binds']}, receipt window: {receipt_window} per bind"
            )

        def run(log_dir, receipt_window):
            return self.run_receipts(count, options, log_dir, receipt_window)

        self.run_per_window(options["receipt_window"], options, header, run, self.print_receipt_figures)

    # --- setup ----------------------------------------------------------------------------------

    def submitted_campaign(self, count, provider, early_every):
        """A running campaign of `count` messages, submitted with provider ids 1 … count in hex,
        except every `early_every`-th, left SENDING; returns (campaign, {early id: (provider id,
        attempts)})."""
        from smsconsole.celery import app

        campaign = self.campaign(count, provider)
        # Nothing consumes this queue: planning's dispatch must not hand batches to the gateway.
        app.conf.task_default_queue = self.dead_queue = f"bench-receipts-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        with transaction.atomic():
            campaign.launch()
        planning.plan(campaign.pk)
        if self.segments > 1:
            # A benchmark fixture, written directly: the messages are long, with a part per segment.
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE campaigns_message SET segments = %s WHERE campaign_id = %s", [self.segments, campaign.pk]
                )
        ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
        early = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            attempts = gateway.claim_messages(campaign.pk, chunk)
            results = []
            for position, message_id in enumerate(chunk, start=start):
                n = self.segments
                provider_ids = tuple(f"{position * n + k + 1:x}" for k in range(n))
                if position % early_every == 0:
                    early[message_id] = (provider_ids, attempts[message_id])
                else:
                    results.append(Result(message_id, provider_ids))
            gateway.record_results(campaign.pk, results, attempts)
        # Submitted already: the batch jobs planning pushed would only have the gateway look for queued
        # messages and finish batches (1,000 of them at 1,000,000) while the receipts come in, which
        # held the first third of a run to half the rate of the rest.
        Batch.objects.filter(campaign=campaign).update(status=Batch.Status.DONE)
        get_redis(settings.REDIS_URL).delete(dispatch.queue_key(provider.pk), dispatch.priority_key(provider.pk))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE campaigns_message")
        self.stdout.write(
            f"{count:,} messages planned and submitted ({len(early):,} left sending) in "
            f"{time.perf_counter() - started:.1f}s"
        )
        return campaign, early

    # --- the run --------------------------------------------------------------------------------

    def run_receipts(self, count, options, log_dir, receipt_window):
        children = []
        campaign = None
        self.dead_queue = None
        try:
            simulator = self.start_simulator(log_dir, 0.2, receipt_window)
            children.append(simulator)
            provider = self.provider(simulator, options["binds"], 64, name=CONNECTION_NAME)
            PendingReceipt.objects.filter(connection=provider).delete()
            campaign, early = self.submitted_campaign(count, provider, options["early"])
            gateway_argv = [sys.executable, "manage.py", "run_gateway", "--connection", CONNECTION_NAME]
            gateway_argv += ["--gateway-id", f"bench-receipts-{uuid.uuid4().hex[:8]}"]
            children.append(Child("gateway", gateway_argv, self.environment(self.dead_queue), log_dir))
            self.wait(lambda: self.simulator_stats(simulator)["bound"] >= options["binds"], children, 60, "the binds")
            figures = self.measure_receipts(campaign, provider, simulator, children, count, early, options["timeout"])
            figures["segments"] = self.segments
            figures["receipt_window"] = receipt_window
            figures["binds"] = options["binds"]
            return figures
        finally:
            for child in reversed(children):
                child.stop()
            if self.dead_queue:
                get_redis(settings.REDIS_URL).delete(self.dead_queue)
            if campaign is not None and not options["keep"]:
                self.delete(campaign)

    def measure_receipts(self, campaign, provider, simulator, children, count, early, timeout):
        waiting = list(early.items())  # in stream order: position = int(provider id, 16) - 1
        recorded = 0
        started = time.perf_counter()
        self.inject(simulator, count * self.segments)
        samples = []  # (seconds, receipts acknowledged by the gateway, receipts applied)
        deadline = started + timeout
        while True:
            for child in children:
                child.check()
                child.sample_memory()
            acked = self.simulator_stats(simulator)["receipts_acked"]
            recorded += self.record_early(campaign, provider, waiting, acked)
            row = Campaign.objects.counters(campaign.pk)
            applied = row["delivered"] + row["failed"] + row["expired"]
            now = time.perf_counter() - started
            samples.append((now, acked, applied))
            if applied >= count:
                for child in children:
                    child.sample_memory(force=True)
                break
            if time.perf_counter() > deadline:
                raise CommandError(f"not finished after {timeout:.0f}s: {applied:,} of {count:,} applied")
            time.sleep(0.1)
        finished = time.perf_counter() - started
        final = self.simulator_stats(simulator)
        counters = {name: Campaign.objects.counters(campaign.pk)[name] for name in Campaign.COUNTERS}
        left = PendingReceipt.objects.filter(connection=provider).count()
        receipts_sent = count * self.segments
        return {
            "receipts": receipts_sent,
            "messages": count,
            "early": len(early),
            "early_recorded_after_their_receipt": recorded,
            "all_applied_after_s": round(finished, 2),
            "receipts_per_s": round(receipts_sent / finished),
            "messages_per_s": round(count / finished),
            "acknowledged_per_s_sustained": round(sustained(samples, 1, receipts_sent)),
            "applied_per_s_sustained": round(sustained(samples, 2, count)),
            "acknowledged_per_s_by_tenth": [
                round(sustained(samples, 1, receipts_sent, n / 10, (n + 1) / 10)) for n in range(10)
            ],
            "applied_per_s_by_tenth": [round(sustained(samples, 2, count, n / 10, (n + 1) / 10)) for n in range(10)],
            "peak_rss_mb": {child.name: child.peak for child in children},
            "simulator": {k: final[k] for k in ("receipts_sent", "receipts_acked", "peak_unacked", "receipts_pending")},
            "counters": counters,
            "pending_receipts_left": left,
        }

    def inject(self, simulator, count):
        body = json.dumps({"system_id": SYSTEM_ID, "first": 1, "count": count}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{simulator.control_port}/receipts", data=body, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            json.load(response)

    def record_early(self, campaign, provider, waiting, acked):
        """Records the submit results of early messages whose receipt the gateway has stored, then
        applies pending receipts, as the gateway does after recording results; returns how many."""
        # A message's receipts are all in once its last segment's is (ids are sent in order).
        candidates = list(itertools.takewhile(lambda item: int(item[1][0][-1], 16) <= acked, waiting))
        if not candidates:
            return 0
        stored = set(
            PendingReceipt.objects.filter(
                connection=provider, provider_id__in=[provider_ids[-1] for _, (provider_ids, _) in candidates]
            ).values_list("provider_id", flat=True)
        )
        ready = [(message_id, provider_ids, attempts) for message_id, (provider_ids, attempts) in candidates
                 if provider_ids[-1] in stored]  # fmt: skip
        if not ready:
            return 0
        done = {message_id for message_id, _, _ in ready}
        waiting[:] = [item for item in waiting if item[0] not in done]
        gateway.record_results(
            campaign.pk,
            [Result(message_id, provider_ids) for message_id, provider_ids, _ in ready],
            {message_id: attempts for message_id, _, attempts in ready},
        )
        receipts.apply_pending(provider.pk)
        return len(ready)

    def print_receipt_figures(self, f):
        lines = [
            f"RECEIPTS: {f['receipts_per_s']:,} receipts/s ({f['receipts']:,} receipts, first sent → last applied in "
            f"{f['all_applied_after_s']:.1f}s; window {f['receipt_window']} × {f['binds']} binds)",
            f"messages of {f['segments']} segment(s): {f['messages_per_s']:,} messages/s moved",
            f"before their submit result: {f['early']:,} ({f['early_recorded_after_their_receipt']:,} recorded "
            "after their receipt was stored)",
            f"acknowledged (stored)/s sustained (10-90 %): {f['acknowledged_per_s_sustained']:,}",
            "acknowledged/s in each tenth: " + ", ".join(f"{r:,}" for r in f["acknowledged_per_s_by_tenth"]),
            f"applied (messages moved)/s sustained (10-90 %): {f['applied_per_s_sustained']:,}",
            "applied/s in each tenth: " + ", ".join(f"{r:,}" for r in f["applied_per_s_by_tenth"]),
            "peak RSS (MB): " + ", ".join(f"{name} {'+'.join(map(str, mb))}" for name, mb in f["peak_rss_mb"].items()),
            f"counters: {f['counters']}; pending receipts left: {f['pending_receipts_left']}",
            f"simulator: {f['simulator']}",
            f"load average after the run: {f['load_average_after']}",
        ]
        for line in lines:
            self.stdout.write(line)
