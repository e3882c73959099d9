"""`manage.py bench_callbacks`: what status reports cost and whether every one arrives once, on PostgreSQL.

1. Plans two campaigns of the same application (`--baseline` and `--messages` recipients), hands
   their messages over through the lifecycle and applies their receipts in flushes of `--flush`
   (3 % failed), the first while the application has no report URL, the second with one, and
   prints the receipt cost per 1,000 messages of each: what owing the reports adds to the hot path.
2. Drains the owed reports into pushes (JSON batches of ≤ 50) and prints the rate.
3. Delivers them to a receiver in another process that is down for `--down` seconds and then
   answers 500 to `--failure-ratio` of the requests, and prints how often each message's report
   reached it. While the receiver is down the back-off runs in real time; once it listens, the
   clock handed to campaigns.push.deliver_due jumps to the next attempt when nothing is due.
Everything it created is deleted at the end.
"""

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from campaigns import lifecycle, planning, push, status_reports
from campaigns.management.bench_setup import bench_template
from campaigns.management.commands.bench_send import copy_recipients
from campaigns.management.failing_receiver import FailingReceiver, free_port
from campaigns.models import Campaign, Message, ProviderConnection, Push, PushAttempt, RecipientImport, StatusReportDue

CHUNK = 1000


class Command(BaseCommand):
    help = "Measures owing, batching and delivering status reports to a receiver that is down, then fails 10 %."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=100_000, help="messages whose reports are pushed")
        parser.add_argument("--baseline", type=int, default=20_000, help="messages applied without a report URL")
        parser.add_argument("--flush", type=int, default=100, help="receipts applied per transaction")
        parser.add_argument("--failure-ratio", type=float, default=0.10)
        parser.add_argument("--down", type=float, default=30.0, help="seconds the receiver is down at first")

    def handle(self, *args, messages, baseline, flush, failure_ratio, down, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_callbacks measures PostgreSQL; set DATABASE_URL.")
        application, template = bench_template("bench-callbacks", "Your order ${1} has shipped.", ["CHARDIGIT"])
        provider = ProviderConnection(name=f"bench-callbacks-{time.time_ns()}", host="127.0.0.1", port=1, system_id="b")
        provider.password = "b"
        provider.save()
        port = free_port()
        campaigns = []
        try:
            for label, count, url in (
                ("without a report URL", baseline, ""),
                ("with a report URL", messages, f"http://127.0.0.1:{port}/reports"),
            ):
                application.report_url = url
                application.save(update_fields=["report_url"])
                campaign = self.campaign(application, template, provider, count)
                campaigns.append(campaign)
                seconds = self.receipts(campaign, flush)
                self.stdout.write(
                    f"receipts {label}: {count:,} messages in flushes of {flush}: {seconds:.1f} s, "
                    f"{seconds / count * 1000 * 1000:.1f} ms per 1,000 receipts"
                )
            self.drain(messages)
            self.deliver(application, port, messages, failure_ratio, down)
        finally:
            application.report_url = ""
            application.save(update_fields=["report_url"])
            self.clean(application, campaigns, provider)

    def campaign(self, application, template, provider, count):
        with transaction.atomic():
            recipient_import = RecipientImport.objects.create(
                account=application.account, application=application, template=template, original_name="bench.csv"
            )
            copy_recipients(recipient_import, count, series="137")
        campaign = Campaign.objects.create(
            account=application.account, application=application, signature=template.signature, template=template,
            connection=provider, name=f"bench callbacks {count}", recipient_import=recipient_import,
            status=Campaign.Status.RUNNING,
        )  # fmt: skip
        with mock.patch.object(planning, "_dispatch"):  # no gateway here: the messages are handed over below
            planning.plan(campaign.pk)
        ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            lifecycle.claim(campaign.pk, chunk)
            lifecycle.record_submits(submitted=[(i, f"b{i}") for i in chunk])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE campaigns_message")
        return campaign

    def receipts(self, campaign, flush):
        ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
        began = time.perf_counter()
        with mock.patch.object(status_reports, "wake"):  # the drain runs below, not in a worker
            for start in range(0, len(ids), flush):
                lifecycle.apply_receipts(
                    [(i, "UNDELIV" if i % 33 == 0 else "DELIVRD", "005" if i % 33 == 0 else "000")
                     for i in ids[start : start + flush]]
                )  # fmt: skip
        return time.perf_counter() - began

    def drain(self, messages):
        began = time.perf_counter()
        totals = {"reports": 0, "pushes": 0}
        with mock.patch.object(push, "wake"):
            while (counts := status_reports.drain())["reports"]:
                totals = {name: totals[name] + counts[name] for name in totals}
        seconds = time.perf_counter() - began
        self.stdout.write(
            f"drain: {totals['reports']:,} reports into {totals['pushes']:,} pushes in {seconds:.1f} s "
            f"({totals['reports'] / seconds:,.0f} reports/s)"
        )
        if totals["reports"] != messages:
            raise CommandError(f"{messages:,} reports owed, {totals['reports']:,} drained")

    def deliver(self, application, port, messages, failure_ratio, down):
        pending = Push.objects.filter(application=application, status=Push.Status.PENDING)
        count = pending.count()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "accepted.json"
            receiver = None
            began = time.perf_counter()
            now = timezone.now()
            while pending.exists():
                if receiver is None and time.perf_counter() - began >= down:
                    receiver = FailingReceiver(port, failure_ratio, out)
                if receiver is None:
                    push.deliver_due()  # the real clock: the outage's back-off is not skipped
                    time.sleep(0.05)
                elif push.deliver_due(now=now)["claimed"] == 0:
                    next_at = pending.aggregate(at=Min("next_attempt_at"))["at"]
                    now = max(now, next_at or now, timezone.now()) + timedelta(milliseconds=1)
            elapsed = time.perf_counter() - began
            accepted = receiver.stop()
        attempts = PushAttempt.objects.filter(push__application=application, push__kind=Push.Kind.BATCH_STATUS).count()
        given_up = Push.objects.filter(application=application, status=Push.Status.GAVE_UP).count()
        self.stdout.write(
            f"delivery: {count:,} pushes ({messages:,} reports), receiver down {down:g} s then failing "
            f"{failure_ratio:.0%}: {elapsed:.1f} s, {attempts:,} attempts; {len(accepted):,} messages reported, "
            f"{sum(1 for n in accepted.values() if n > 1)} twice or more, {messages - len(accepted)} missing, "
            f"{given_up} given up"
        )

    def clean(self, application, campaigns, provider):
        for campaign in campaigns:
            StatusReportDue.objects.filter(message__campaign=campaign).delete()
            Message.objects.filter(campaign=campaign).delete()
            campaign.delete()
            if campaign.recipient_import_id:
                RecipientImport.objects.filter(pk=campaign.recipient_import_id).delete()
        Push.objects.filter(application=application, kind=Push.Kind.BATCH_STATUS).delete()
        provider.delete()
