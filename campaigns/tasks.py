import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from campaigns import importer
from campaigns.models import RecipientImport

log = logging.getLogger(__name__)

# An import writes progress every batch (seconds apart); one silent this long lost its worker.
STALE_AFTER = timedelta(minutes=15)


@shared_task(acks_late=True)
def import_recipients(import_id):
    return importer.run_import(import_id)


@shared_task
def sweep_stale_imports():
    """Fails imports whose worker died mid-file, so no half list stays 'importing' for ever."""
    cutoff = timezone.now() - STALE_AFTER
    stale = list(
        RecipientImport.objects.filter(status=RecipientImport.Status.RUNNING, progress_at__lt=cutoff).values_list("pk", flat=True)
    )
    for import_id in stale:
        updated = RecipientImport.objects.filter(pk=import_id, status=RecipientImport.Status.RUNNING).update(
            status=RecipientImport.Status.FAILED, error_code="interrupted", finished_at=timezone.now()
        )
        if updated:
            importer.discard_rows(import_id)
    return {"failed": len(stale)}
