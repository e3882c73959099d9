"""Accounts that exist when service activation arrives are in use: they are activated, without an
email (nothing was decided) and without accepted terms (terms_version stays empty)."""

from django.db import migrations
from django.utils import timezone


def activate_existing_accounts(apps, schema_editor):
    Account = apps.get_model("smsconsole", "Account")
    ServiceApplication = apps.get_model("accounts", "ServiceApplication")
    now = timezone.now()
    ServiceApplication.objects.bulk_create(
        [
            ServiceApplication(
                account_id=account_id, status="approved", submitted_at=now, reviewed_at=now, result_notified_at=now,
                reason_text="Activated when service activation was introduced: the account was in use already.",
            )
            for account_id in Account.objects.filter(service_application__isnull=True).values_list("pk", flat=True)
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(activate_existing_accounts, migrations.RunPython.noop),
    ]
