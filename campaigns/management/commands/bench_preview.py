"""`manage.py bench_preview`: the preview before launch of a campaign to N recipients, timed, and
its figures checked against what planning makes of the same campaign.

PostgreSQL only. The data is generated set-based (INSERT … SELECT over generate_series): N
recipients of one import, a tenth of them with a long name that takes two segments, 1 % of the
numbers put on the opt-out list after the import, and `--capped` numbers (every third) at their
frequency cap in Redis (the bench account allows one notification a day). Then preview.build runs
`--runs` times (each timed), and planning itself (planning.plan) runs in a transaction that is
rolled back, so the counts can be compared without leaving messages or queueing a dispatch. The
generated rows are deleted at the end unless --keep.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from campaigns import planning, preview
from campaigns.frequency import FrequencyCaps
from campaigns.management.bench_setup import bench_template
from campaigns.models import AccountLimits, Campaign, OptOut, ProviderConnection, RecipientImport

LONG_NAME = "Ludmila Wojciechowska-Żółkiewska von Hohenzollern-Sigmaringen"
CONTENT = "尊敬的${1}，您的订单已发货，请注意查收。"

RECIPIENTS = (
    "INSERT INTO campaigns_recipient (recipient_import_id, row_number, phone, variables, opted_out, segments) "
    "SELECT %s, n, '+86137' || LPAD(n::text, 8, '0'), "
    "CASE WHEN n %% 10 = 0 THEN jsonb_build_array(%s::text) ELSE jsonb_build_array('王' || n::text) END, "
    "false, CASE WHEN n %% 10 = 0 THEN %s ELSE %s END "
    "FROM generate_series(1, %s) n"
)
OPT_OUTS = (
    "INSERT INTO campaigns_optout (account_id, phone, source, note, created_at) "
    "SELECT %s, '+86137' || LPAD(n::text, 8, '0'), 'manual', 'bench', now() "
    "FROM generate_series(7, %s, 100) n ON CONFLICT DO NOTHING"
)


class Command(BaseCommand):
    help = "Times the preview before launch of a campaign to N recipients and checks it against planning."

    def add_arguments(self, parser):
        parser.add_argument("--recipients", type=int, default=1_000_000)
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--capped", type=int, default=1_000, help="numbers at their frequency cap in Redis")
        parser.add_argument("--keep", action="store_true", help="keep the generated rows")

    def handle(self, recipients, runs, capped, keep, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_preview needs PostgreSQL (set DATABASE_URL).")
        from sms import text

        application, template = bench_template("bench-preview", CONTENT, ["TEXT"])
        account = application.account
        pieces = text.split(template.content, template.signature.name)
        short = text.count_segments(text.render(pieces, ["王1"])).segments
        long = text.count_segments(text.render(pieces, [LONG_NAME])).segments
        conn, _ = ProviderConnection.objects.get_or_create(
            name="bench-preview", defaults={"host": "127.0.0.1", "port": 2775, "system_id": "bench", "tps": 500}
        )
        started = time.monotonic()
        imp = RecipientImport.objects.create(
            account=account, application=application, template=template, original_name="bench-preview.csv"
        )
        with connection.cursor() as cursor:
            cursor.execute(RECIPIENTS, [imp.pk, LONG_NAME, long, short, recipients])
            cursor.execute(OPT_OUTS, [account.pk, recipients])
            cursor.execute("ANALYZE campaigns_recipient")
            cursor.execute("ANALYZE campaigns_optout")
        RecipientImport.objects.filter(pk=imp.pk).update(
            status=RecipientImport.Status.COMPLETED, rows_read=recipients, accepted=recipients
        )
        # One notification a day per number for the bench account, so one recorded send puts a
        # number at its cap for the whole run (a minute's cap would lapse while the bench runs).
        AccountLimits.objects.update_or_create(
            account=account, defaults={"frequency_caps": {"notification": [[86_400, 1]]}}
        )
        caps = FrequencyCaps.for_account(account.pk)
        capped_numbers = [n * 3 for n in range(1, capped + 1) if n * 3 <= recipients]
        for first in range(0, len(capped_numbers), 5000):
            chunk = capped_numbers[first : first + 5000]
            caps.admit([(f"b{n}", f"+86137{n:08d}", "notification", "bench") for n in chunk])
        # The capped numbers planning would send to: not on the opt-out list (every 100th from 7).
        truly_over = sum(1 for n in capped_numbers if n % 100 != 7)
        self.stdout.write(
            f"generated {recipients:,} recipients, opt-outs and {capped:,} capped numbers in "
            f"{time.monotonic() - started:.1f}s"
        )
        campaign = Campaign.objects.create(
            account=account,
            application=application,
            signature=template.signature,
            template=template,
            connection=conn,
            name="bench-preview",
            recipient_import=imp,
        )
        try:
            for run in range(1, runs + 1):
                began = time.monotonic()
                figures = preview.build(
                    Campaign.objects.select_related(
                        "account", "template", "signature", "connection", "recipient_import"
                    ).get(pk=campaign.pk)
                )
                seconds = time.monotonic() - began
                estimated = " (estimated)" if figures.over_cap_estimated else ""
                self.stdout.write(
                    f"run {run}: preview of {figures.recipients:,} recipients in {seconds:.2f}s — "
                    f"to send {figures.to_send:,}, opted out {figures.opted_out:,}, "
                    f"over a cap {figures.over_cap:,}{estimated} (truly {truly_over:,}), "
                    f"segments {figures.segments:,} {figures.per_recipient}, cost {figures.cost} CNY"
                )
            self.compare_with_planning(campaign, figures)
        finally:
            if not keep:
                Campaign.objects.filter(pk=campaign.pk).delete()
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM campaigns_recipient WHERE recipient_import_id = %s", [imp.pk])
                imp.delete()
                OptOut.objects.filter(account=account, note="bench").delete()
                AccountLimits.objects.filter(account=account).delete()
                keys = list(caps.redis.scan_iter(f"{caps.prefix}:*", count=5000))
                for chunk in range(0, len(keys), 5000):
                    caps.redis.delete(*keys[chunk : chunk + 5000])

    def compare_with_planning(self, campaign, figures):
        """Planning itself (planning.plan) inside a transaction that is rolled back: its dispatch
        waits for a commit that never comes, so nothing is queued and no message row stays."""
        began = time.monotonic()
        with transaction.atomic():
            Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
            planning.plan(campaign.pk)
            counted = Campaign.objects.counters(campaign.pk)
            done = tuple(counted[name] for name in ("total", "queued", "skipped", "segments"))
            transaction.set_rollback(True)
        total, queued, skipped, segments = done
        previewed = (figures.recipients, figures.to_send, figures.opted_out, figures.segments)
        self.stdout.write(
            f"planning (rolled back) in {time.monotonic() - began:.1f}s: total {total:,}, queued {queued:,}, "
            f"skipped {skipped:,}, segments {segments:,}"
        )
        if done != previewed:
            raise CommandError(f"the preview {previewed} differs from planning {done}")
        self.stdout.write("the preview's figures equal planning's")
