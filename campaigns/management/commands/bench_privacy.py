"""`manage.py bench_privacy`: the retention purges and a data-subject erase on N messages, measured.

PostgreSQL only. Generates `--messages` delivered messages set-based (one INSERT … SELECT
generate_series per campaign) over `--campaigns` finished campaigns of one account, each sent to
the same list (so the erased number is in every campaign), all handed over 200 days ago; half the
campaigns finished past the statistics retention. Then times, in this order:
1. erase_number of one number on the whole set;
2. purge_message_texts (every message is past 30 days), then again (idempotent: nothing left);
3. purge_old_messages (the half past SMS_STATISTICS_RETENTION_DAYS).
Deletes what it generated afterwards (unless --keep).
"""

import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from campaigns import privacy
from campaigns.management.bench_setup import bench_template
from campaigns.management.commands.bench_send import copy_recipients
from campaigns.models import Campaign, OptOut, ProviderConnection, RecipientImport

SERIES = "137"

GENERATE = (
    "INSERT INTO campaigns_message (campaign_id, connection_id, phone, variables, segments, status, provider_id, "
    "skip_reason, error_code, error, attempts, submitted_at, done_at, updated_at) "
    "SELECT %s, %s, '+86" + SERIES + "' || lpad(n::text, 8, '0'), jsonb_build_array('A' || n), 1, 'delivered', "
    "'bench-' || %s || '-' || n, '', '', '', 1, %s, %s, %s FROM generate_series(1, %s) AS n"
)


class Command(BaseCommand):
    help = "Times the message text purge, the old-message purge and erase_number on N generated messages."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=1_000_000)
        parser.add_argument("--campaigns", type=int, default=20)
        parser.add_argument("--keep", action="store_true", help="Keep the generated rows.")

    def handle(self, *args, messages, campaigns, keep=False, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_privacy measures the PostgreSQL path: set DATABASE_URL to a PostgreSQL database")
        per_campaign = messages // campaigns
        application, template = bench_template("bench-privacy", "您的订单${1}已发货，请注意查收。", ["CHARDIGIT"])
        account = application.account
        provider, _ = ProviderConnection.objects.get_or_create(
            name="bench-privacy", defaults={"host": "127.0.0.1", "port": 2775, "system_id": "bench"}
        )
        generated = self.generate(application, template, provider, campaigns, per_campaign)
        try:
            self.measure(account, generated, per_campaign * campaigns)
        finally:
            if not keep:
                self.delete(generated)

    def generate(self, application, template, provider, campaigns, per_campaign):
        started = time.perf_counter()
        now = timezone.now()
        sent = now - timedelta(days=200)
        with transaction.atomic():
            recipient_import = RecipientImport.objects.create(
                account=application.account, application=application, template=template, original_name="bench.csv"
            )
            # copy_recipients writes the 139 series; this list is the 137 one the messages use.
            copy_recipients(recipient_import, per_campaign, series=SERIES)
            OptOut.objects.get_or_create(account=application.account, phone=self.erased_phone)
            generated = []
            for number in range(campaigns):
                # Half past the statistics retention (messages deleted), half within it (kept, text purged).
                old = number % 2 == 0
                finished = now - timedelta(days=settings.SMS_STATISTICS_RETENTION_DAYS + (10 if old else -10))
                campaign = Campaign.objects.create(
                    account=application.account,
                    application=application,
                    signature=template.signature,
                    template=template,
                    connection=provider,
                    name=f"bench privacy {number}",
                    recipient_import=recipient_import,
                    status=Campaign.Status.COMPLETED,
                    planned_at=sent,
                    started_at=sent,
                    finished_at=finished,
                    total=per_campaign,
                    delivered=per_campaign,
                    segments=per_campaign,
                )
                with connection.cursor() as cursor:
                    cursor.execute(GENERATE, [campaign.pk, provider.pk, campaign.pk, sent, sent, sent, per_campaign])
                generated.append(campaign)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE campaigns_message")
            cursor.execute("VACUUM ANALYZE campaigns_recipient")
        self.stdout.write(
            f"generated {per_campaign * campaigns:,} messages in {campaigns} campaigns "
            f"and {per_campaign:,} recipients in {time.perf_counter() - started:.1f}s"
        )
        return generated

    @property
    def erased_phone(self):
        return f"+86{SERIES}{1:08d}"

    def timed(self, label, func):
        started = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{label}: {elapsed:.2f}s {result}")
        return result

    def measure(self, account, generated, total):
        erase = self.timed(
            f"erase_number on {total:,} messages", lambda: privacy.erase_number(account, self.erased_phone)
        )
        if erase["messages"] != len(generated):
            raise CommandError(f"erase anonymised {erase['messages']} messages, expected {len(generated)}")
        texts = self.timed(f"purge_message_texts on {total:,} messages", privacy.purge_message_texts)
        if texts["texts_purged"] != total - erase["messages"]:  # the erase emptied its messages already
            raise CommandError(f"purged {texts['texts_purged']} texts, expected {total - erase['messages']}")
        again = self.timed("purge_message_texts again (nothing left)", privacy.purge_message_texts)
        if again["texts_purged"]:
            raise CommandError(f"the second purge changed {again['texts_purged']} rows")
        old = len(generated[::2]) * (total // len(generated))
        deleted = self.timed(f"purge_old_messages ({old:,} past retention)", privacy.purge_old_messages)
        if deleted["messages_deleted"] != old:
            raise CommandError(f"deleted {deleted['messages_deleted']} messages, expected {old}")
        kept = Campaign.objects.filter(pk=generated[0].pk).values_list("total", "delivered").get()
        self.stdout.write(f"counters of a purged campaign kept: total={kept[0]:,} delivered={kept[1]:,}")

    def delete(self, generated):
        ids = [campaign.pk for campaign in generated]
        imports = {campaign.recipient_import_id for campaign in generated}
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM campaigns_message WHERE campaign_id = ANY(%s)", [ids])
        Campaign.objects.filter(pk__in=ids).delete()
        RecipientImport.objects.filter(pk__in=imports).delete()
