from celery import shared_task

from templates_app import notifications


@shared_task
def notify_review_result(kind, pk, result=None, status=None):
    """Emails the review result of one qualification, signature or template; safe to run again."""
    return notifications.send_review_result(kind, pk, result, status)


@shared_task
def notify_to_be_activated(account_id, signature_ids):
    """Emails an account's contacts the signatures that wait for activation; safe to run again."""
    return notifications.send_to_be_activated(account_id, signature_ids)
