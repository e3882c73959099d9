"""`manage.py reconcile_counters [CAMPAIGN_ID]`: proves each campaign's counters equal its message rows.

Prints every mismatch (campaign, counter, stored, counted) and exits with status 1 if there is any.
Without an id it checks every planned campaign, one grouped COUNT per campaign.
"""

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from campaigns.results import reconcile


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
            ids = list(Campaign.objects.filter(planned_at__isnull=False).order_by("pk").values_list("pk", flat=True))
        wrong = 0
        for pk in ids:
            for counter, stored, counted in reconcile(pk):
                wrong += 1
                self.stdout.write(f"campaign {pk}: {counter} is {stored}, the rows say {counted}")
        if wrong:
            self.stderr.write(f"{wrong} counter(s) differ from the rows in {len(ids)} campaign(s) checked.")
            raise SystemExit(1)
        self.stdout.write(f"{len(ids)} campaign(s) checked: every counter equals its rows.")
