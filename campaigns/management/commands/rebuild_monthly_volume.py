"""`manage.py rebuild_monthly_volume`: counts this month's volume of every account again from its
ledger (campaigns.money.rebuild_month_volume), each account under its row lock, while the
gateways keep sending. Prints each row it changed, then how many accounts it counted.

For an upgrade to MonthlyVolume (migration 0025) while processes of the earlier version still ran:
the migration counted the month once, and what those processes charged after it was never added
to the rows, so those accounts' next charges are priced from too low a tier until this runs."""

from django.core.management.base import BaseCommand

from campaigns import money
from smsconsole.models import Account


class Command(BaseCommand):
    help = "Counts this month's volume (the price tier) of every account again from the ledger."

    def handle(self, *args, **options):
        ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
        for pk in ids:
            for category, (stored, counted) in money.rebuild_month_volume(pk).items():
                self.stdout.write(f"account {pk}: {category} was {stored}, the ledger says {counted}")
        self.stdout.write(f"{len(ids)} account(s) counted.")
