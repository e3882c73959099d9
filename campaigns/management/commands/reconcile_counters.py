"""`manage.py reconcile_counters [CAMPAIGN_ID] [--billing]`: proves each campaign's counters equal its message rows.

Prints every mismatch (campaign, counter, stored, counted) and exits with status 1 if there is any.
Without an id it checks every planned campaign whose messages are still kept (the retention purge,
campaigns.privacy, deletes a finished campaign's rows and leaves its counters), one grouped COUNT per
campaign. The comparison itself is the lifecycle's (campaigns.lifecycle.reconcile), which also checks
the hourly statistics where the campaign's rows can be told apart. With --billing it also runs the
money's (campaigns.money.reconcile: the segments charged less refunded in the ledger equal those
of the messages the refund policy leaves charged; a mismatch is printed as billed_segments).
"""

from django.core.management.base import BaseCommand, CommandError

from campaigns import money
from campaigns.lifecycle import reconcile
from campaigns.models import Campaign


class Command(BaseCommand):
    help = "Checks that per-campaign counters equal the message rows; exits 1 on any mismatch."

    def add_arguments(self, parser):
        parser.add_argument("campaign_id", type=int, nargs="?")
        parser.add_argument(
            "--billing",
            action="store_true",
            help="also compare the ledger's charged segments with the messages the refund policy leaves charged",
        )

    def handle(self, *args, campaign_id=None, **options):
        if campaign_id is not None:
            if not Campaign.objects.filter(pk=campaign_id).exists():
                raise CommandError(f"No campaign {campaign_id}.")
            ids = [campaign_id]
        else:
            kept = Campaign.objects.filter(planned_at__isnull=False, messages_purged_at__isnull=True)
            ids = list(kept.order_by("pk").values_list("pk", flat=True))
        wrong = 0
        for pk in ids:
            mismatches = reconcile(pk)
            billed = money.reconcile(pk) if options["billing"] else None
            if billed:
                mismatches["billed_segments"] = billed
            for counter, figures in mismatches.items():
                wrong += 1
                self.stdout.write(f"campaign {pk}: {counter} is {figures['counted']}, the rows say {figures['rows']}")
        if wrong:
            self.stderr.write(f"{wrong} counter(s) differ from the rows in {len(ids)} campaign(s) checked.")
            raise SystemExit(1)
        self.stdout.write(f"{len(ids)} campaign(s) checked: every counter equals its rows.")
