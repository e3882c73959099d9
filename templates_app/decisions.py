"""What a staff decision on submitted content records besides its transition: the audit entry and
the result email to the account's contacts. The review desk's actions and buttons and the import of
carrier results (templates_app.resources) all record through here, inside the decision's transaction."""

from smsconsole.models import audit
from templates_app import notifications


def record(actor, obj, action, before, result=None):
    """Audits `action` on `obj`, which left status `before`, and queues its result email
    (`result` as notifications.queue_review_result takes it)."""
    after = {"status": obj.status, "reason_code": obj.reason_code, "reason_text": obj.reason_text}
    for field in ("channel_number", "carrier_reason"):
        if getattr(obj, field, None):
            after[field] = getattr(obj, field)
    audit(actor, action, obj, before={"status": before}, after=after)
    notifications.queue_review_result(obj, result)
