from celery import shared_task

from templates_app import notifications


@shared_task
def notify_review_result(kind, pk):
    """Emails the review result of one qualification, signature or template; safe to run again."""
    return notifications.send_review_result(kind, pk)
