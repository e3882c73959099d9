import django.db.models.deletion
from django.db import migrations, models

# Only the indexes go: Django's AlterField would drop and re-add the foreign keys too, and re-adding
# one validates every message row under a lock. Each column stays the first of another index
# (message_once_per_campaign, message_by_provider_id), which serves the lookups by it.
INDEXES = {
    "campaigns_message_campaign_id_de4b21fa": "campaign_id",
    "campaigns_message_connection_id_99619cce": "connection_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0021_campaign_counter_deltas"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="campaign",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="campaigns.campaign",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="connection",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="campaigns.providerconnection",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}", f"CREATE INDEX {name} ON campaigns_message ({column})"
                )
                for name, column in INDEXES.items()
            ],
        ),
    ]
