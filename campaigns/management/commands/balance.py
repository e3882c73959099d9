"""`manage.py balance ACCOUNT [--add AMOUNT [--note TEXT]]`: an account's balance, and top-ups or
corrections (a negative AMOUNT, which needs --note) recorded in its ledger. Prints the balance as a
plain decimal number."""

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from campaigns import money
from smsconsole.models import Account


class Command(BaseCommand):
    help = "Prints an account's balance; with --add, records a top-up (or a negative correction) first."

    def add_arguments(self, parser):
        parser.add_argument("account", help="The account's name or id.")
        parser.add_argument("--add", metavar="AMOUNT", help="Add AMOUNT (CNY); a negative AMOUNT is a correction.")
        parser.add_argument("--note", default="", help="Why; required for a correction.")

    def handle(self, *args, account, add=None, note="", **options):
        found = Account.objects.filter(pk=int(account)) if account.isdigit() else Account.objects.none()
        found = found or Account.objects.filter(name=account)
        if found.count() != 1:
            raise CommandError(f"No single account named or numbered {account!r}.")
        target = found.get()
        if add is not None:
            try:
                amount = Decimal(add)
            except InvalidOperation:
                raise CommandError(f"{add!r} is not an amount.") from None
            try:
                if amount > 0:
                    money.top_up(target, amount, note=note or "manage.py balance")
                else:
                    money.correct(target, amount, note)
            except (ValueError, money.InsufficientBalance) as error:
                raise CommandError(str(error)) from None
        self.stdout.write(str(money.balance(target)))
