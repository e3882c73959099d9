"""`manage.py reconcile_counters [CAMPAIGN_ID]`: proves each campaign's counters equal its message rows.

Prints every mismatch (campaign, counter, stored, counted) and exits with status 1 if there is any.
Without an id it checks every planned campaign whose messages are still kept (the retention purge,
campaigns.privacy, deletes a finished campaign's rows and leaves its counters), one grouped COUNT per
campaign. The comparison itself is the lifecycle's (campaigns.lifecycle.reconcile), which also checks
the hourly statistics where the campaign's rows can be told apart.
"""

from django.core.management.base import BaseCommand, CommandError

from campaigns.lifecycle import reconcile
from campaigns.models import Campaign


class Command(BaseCommand):
    help = "Checks that per-campaign counters equal the message rows; exits 1 on any mismatch."

    def add_arguments(self, parser):
        parser.add_argument("campaign_id", type=int, nargs="?")

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
            for counter, figures in reconcile(pk).items():
                wrong += 1
                self.stdout.write(f"campaign {pk}: {counter} is {figures['counted']}, the rows say {figures['rows']}")
        if wrong:
            self.stderr.write(f"{wrong} counter(s) differ from the rows in {len(ids)} campaign(s) checked.")
            raise SystemExit(1)
        self.stdout.write(f"{len(ids)} campaign(s) checked: every counter equals its rows.")
