"""Arrears (欠费, cloud-sms-spec.md 4.4), the moves that come with time.

The rule itself is the account's (smsconsole.models.Account: frozen_at, retention_ends_at,
is_frozen), so the planner, the send API and resuming a campaign all read the same thing at the
moment they act. What cannot wait for someone to act runs here, from the periodic task
campaigns.tasks.enforce_arrears: running campaigns of frozen accounts are paused, and the
signatures of accounts frozen past the retention period wait for activation (待激活).

A top-up that brings the balance back to zero or above (campaigns.money) ends the arrears: the
API and new campaigns send again at once; a paused campaign waits for its operator to resume it,
and to-be-activated signatures for their activation to be approved.
"""

from smsconsole.models import Account


def enforce():
    """Pauses and deactivates what arrears require now; safe to run again (each move is a
    compare-and-set from the state it leaves)."""
    from campaigns.models import Campaign
    from templates_app import notifications
    from templates_app.models import Signature

    frozen = list(Account.objects.frozen().values_list("pk", flat=True))
    paused = Campaign.pause_for_arrears(frozen) if frozen else []
    deactivated = 0
    for account in Account.objects.past_retention():
        moved = Signature.deactivate_for_arrears(account)
        if moved:
            notifications.queue_to_be_activated(account, moved)
            deactivated += len(moved)
    return {"frozen": len(frozen), "paused": len(paused), "to_be_activated": deactivated}
