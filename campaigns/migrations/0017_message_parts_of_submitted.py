"""Messages of several segments already submitted when parts came in keep the one provider id they
have (their first segment's) as their only part, so that segment's receipt still decides them, as it
did before: receipts of single-segment messages alone now match Message.provider_id."""

from django.db import migrations


def first_segments_as_parts(apps, schema_editor):
    Message = apps.get_model("campaigns", "Message")
    MessagePart = apps.get_model("campaigns", "MessagePart")
    waiting = Message.objects.filter(status="submitted", segments__gt=1, provider_id__isnull=False)
    rows = waiting.values_list("id", "connection_id", "provider_id").iterator(chunk_size=5000)
    batch = []
    for message_id, connection_id, provider_id in rows:
        batch.append(MessagePart(message_id=message_id, connection_id=connection_id, number=1, provider_id=provider_id))
        if len(batch) >= 5000:
            MessagePart.objects.bulk_create(batch)
            batch = []
    MessagePart.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0016_message_parts")]

    operations = [migrations.RunPython(first_segments_as_parts, migrations.RunPython.noop)]
