import django.db.models.functions.comparison
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, where a plain one would hold off every write to the
    message table (sending, receipts) for the minutes a table of millions takes; a plain index elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("campaigns", "0006_hourly_stats"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="message",
            index=models.Index(
                models.F("campaign"),
                models.F("status"),
                models.OrderBy(
                    django.db.models.functions.comparison.Coalesce("submitted_at", "done_at", "updated_at"),
                    descending=True,
                ),
                models.OrderBy(models.F("id"), descending=True),
                name="message_records",
            ),
        ),
    ]
