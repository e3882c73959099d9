"""`manage.py bench_replies`: what replies and their pushes cost, measured on PostgreSQL.

1. Stores `--replies` replies in flushes of 500 (what the SMPP client hands over at most), a
   tenth of them opt-out keywords and each owing a push, against `--messages` earlier messages of
   the signature, and prints the time per flush.
2. Delivers those pushes to a receiver in another process that fails `--failure-ratio` of the
   requests and listens only after `--down` seconds, and prints the delivery rate and how often
   each reply reached it. Back-off waits are skipped: when nothing is due, the clock passed to
   campaigns.push.deliver_due jumps to the next attempt.
Everything it created is deleted at the end.
"""

import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from campaigns import push, replies
from campaigns.management.failing_receiver import FailingReceiver, free_port
from campaigns.models import Campaign, Message, OptOut, ProviderConnection, Push, PushAttempt, Reply
from smsconsole.models import Account, create_application
from templates_app.models import Signature, Template

FLUSH = 500
CHANNEL = "10699990001"


@dataclass
class Inbound:
    source: str
    destination: str
    text: str


class Command(BaseCommand):
    help = "Measures storing replies (with opt-outs and pushes) and delivering their pushes to a failing receiver."

    def add_arguments(self, parser):
        parser.add_argument("--replies", type=int, default=10_000)
        parser.add_argument("--messages", type=int, default=200_000, help="earlier messages of the signature")
        parser.add_argument("--failure-ratio", type=float, default=0.10)
        parser.add_argument("--down", type=float, default=10.0, help="seconds the receiver is down at first")

    def handle(self, *args, replies: int, messages: int, failure_ratio: float, down: float, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_replies measures PostgreSQL; set DATABASE_URL.")
        account = Account.objects.create(name=f"bench-replies-{time.time_ns()}")
        try:
            self.run(account, replies, messages, failure_ratio, down)
        finally:
            self.clean(account)

    def run(self, account, count, messages, failure_ratio, down):
        port = free_port()
        app, _secret = create_application(account, "bench", upstream_url=f"http://127.0.0.1:{port}/mo")
        signature = Signature.objects.create(
            application=app, name="Bench", type="notification", status=Signature.Status.LEGACY_UNQUALIFIED,
            channel_number=CHANNEL,
        )  # fmt: skip
        template = Template.objects.create(
            application=app, signature=signature, name="Bench", type="notification", content="hi", status="active"
        )
        self.connection = ProviderConnection(
            name=f"bench-replies-{account.pk}", host="127.0.0.1", port=1, system_id="b"
        )
        self.connection.password = "b"
        self.connection.save()
        self.earlier_messages(account, app, signature, template, messages)

        times = []
        for start in range(0, count, FLUSH):
            flush = [
                Inbound(f"86139{n:08d}", CHANNEL, "R" if n % 10 == 0 else "thanks")
                for n in range(start, min(start + FLUSH, count))
            ]
            began = time.perf_counter()
            replies.store(self.connection.pk, flush)
            times.append(time.perf_counter() - began)
        self.stdout.write(
            f"store: {count:,} replies in flushes of {FLUSH} against {messages:,} earlier messages: median "
            f"{statistics.median(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms a flush "
            f"({FLUSH / statistics.median(times):,.0f} replies/s)"
        )

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "accepted.json"
            receiver = None
            began = time.perf_counter()
            now = timezone.now()
            pending = Push.objects.filter(account=account, status=Push.Status.PENDING)
            while pending.exists():
                if receiver is None and time.perf_counter() - began >= down:
                    receiver = FailingReceiver(port, failure_ratio, out)
                if push.deliver_due(now=now)["claimed"] == 0:
                    next_at = pending.aggregate(at=Min("next_attempt_at"))["at"]
                    now = max(now, next_at or now) + timedelta(milliseconds=1)
            elapsed = time.perf_counter() - began
            accepted = receiver.stop()
        attempts = PushAttempt.objects.filter(push__account=account).count()
        given_up = Push.objects.filter(account=account, status=Push.Status.GAVE_UP).count()
        self.stdout.write(
            f"push: {count:,} pushes, receiver down {down:g} s then failing {failure_ratio:.0%}: {elapsed:.1f} s "
            f"({count / elapsed:,.0f} pushes/s), {attempts:,} attempts; accepted {len(accepted):,} distinct, "
            f"{sum(accepted.values()) - len(accepted)} twice or more, {given_up} given up"
        )

    def earlier_messages(self, account, app, signature, template, count):
        campaign = Campaign.objects.create(
            account=account, application=app, signature=signature, template=template, connection=self.connection,
            name="bench", status=Campaign.Status.DRAFT,
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO campaigns_message (campaign_id, connection_id, phone, variables, segments, status, "
                "skip_reason, error_code, error, attempts, submitted_at, provider_id, receipt_stat) "
                "SELECT %s, %s, '+86139' || lpad(n::text, 8, '0'), '[]', 1, 'delivered', '', '', '', 1, now(), "
                "n::text, 'DELIVRD' "
                "FROM generate_series(0, %s - 1) n",
                [campaign.pk, self.connection.pk, count],
            )
            cursor.execute("ANALYZE campaigns_message")

    def clean(self, account):
        Push.objects.filter(account=account).delete()
        Reply.objects.filter(account=account).delete()
        OptOut.objects.filter(account=account).delete()
        Message.objects.filter(campaign__account=account).delete()
        Campaign.objects.filter(account=account).delete()
        Template.objects.filter(application__account=account).delete()
        Signature.objects.filter(application__account=account).delete()
        ProviderConnection.objects.filter(name=f"bench-replies-{account.pk}").delete()
        account.delete()
