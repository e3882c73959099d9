"""`manage.py erase_number ACCOUNT NUMBER [--dry-run]`: a data-subject erase of one number from one
account (campaigns.privacy.erase_number), with a summary per table and an audit entry."""

from django.core.management.base import BaseCommand, CommandError

from campaigns.contacts_import import default_region
from campaigns.numbers import normalise_number
from campaigns.privacy import SUMMARY_LABELS, erase_number
from sms.masking import mask_number
from smsconsole.models import Account, audit


class Command(BaseCommand):
    help = "Removes one number from an account's messages, imports, lists, opt-outs, replies and pushes."

    def add_arguments(self, parser):
        parser.add_argument("account", help="The account's name or id.")
        parser.add_argument("number", help="The number, as the account writes it (13800138000 or +8613800138000).")
        parser.add_argument("--dry-run", action="store_true", help="Print what would change and change nothing.")

    def handle(self, *args, account, number, dry_run=False, **options):
        found = Account.objects.filter(pk=int(account)) if account.isdigit() else Account.objects.none()
        found = found or Account.objects.filter(name=account)
        if found.count() != 1:
            raise CommandError(f"No single account named or numbered {account!r}.")
        target = found.get()
        phone, error = normalise_number(number, default_region(target), mobile_only=False)
        if error:
            raise CommandError(f"{number!r} is not a number ({error}).")
        summary = erase_number(target, phone, dry_run=dry_run)
        if not dry_run:
            # The audit names the tables and counts, never the number it erased.
            audit(None, "erase_number", target, after=summary)
        self.stdout.write(("Would change (dry run):" if dry_run else "Erased:") + f" {mask_number(phone)} in {target}")
        for name, rows in summary.items():
            self.stdout.write(f"  {rows:>9}  {SUMMARY_LABELS[name]}")
