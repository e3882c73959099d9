"""The account's audit log in the console: every recorded change and export, newest first.

Operators only: entries name members and hold what changed, numbers of contacts included.
"""

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils.translation import pgettext_lazy

from smsconsole.models import AuditLog
from smsconsole.tenancy import require_operator

PAGE_SIZE = 50
VALUE_SHOWN = 120

# What the page calls each action, by its verb (actions are also written "template.submit", the
# noun first). In a context of their own: "Rejected" here is a decision, elsewhere a row not imported.
ACTION_LABELS = {
    "create": pgettext_lazy("audit action", "Created"),
    "edit": pgettext_lazy("audit action", "Edited"),
    "update": pgettext_lazy("audit action", "Edited"),
    "change": pgettext_lazy("audit action", "Changed"),
    "delete": pgettext_lazy("audit action", "Deleted"),
    "submit": pgettext_lazy("audit action", "Submitted"),
    "resubmit": pgettext_lazy("audit action", "Submitted again"),
    "withdraw": pgettext_lazy("audit action", "Withdrawn"),
    "urge": pgettext_lazy("audit action", "Urged"),
    "approve": pgettext_lazy("audit action", "Approved"),
    "reject": pgettext_lazy("audit action", "Rejected"),
    "deactivate": pgettext_lazy("audit action", "Deactivated"),
    "launch": pgettext_lazy("audit action", "Launched"),
    "schedule": pgettext_lazy("audit action", "Scheduled"),
    "suspend": pgettext_lazy("audit action", "Suspended"),
    "pause": pgettext_lazy("audit action", "Paused"),
    "resume": pgettext_lazy("audit action", "Resumed"),
    "cancel": pgettext_lazy("audit action", "Cancelled"),
    "copy": pgettext_lazy("audit action", "Copied"),
    "resend_failed": pgettext_lazy("audit action", "Created for the failed numbers"),
    "reset_secret": pgettext_lazy("audit action", "Secret reset"),
    "revoke": pgettext_lazy("audit action", "Revoked"),
    "import_contacts": pgettext_lazy("audit action", "Contacts imported"),
    "import_opt_outs": pgettext_lazy("audit action", "Opt-outs imported"),
    "export": pgettext_lazy("audit action", "Exported"),
    "sign_up": pgettext_lazy("audit action", "Signed up"),
    "join": pgettext_lazy("audit action", "Joined"),
    "invite": pgettext_lazy("audit action", "Invited"),
    "resend_invitation": pgettext_lazy("audit action", "Invitation sent again"),
    "revoke_invitation": pgettext_lazy("audit action", "Invitation withdrawn"),
    "change_role": pgettext_lazy("audit action", "Role changed"),
    "remove_member": pgettext_lazy("audit action", "Member removed"),
    "password_reset": pgettext_lazy("audit action", "Password reset"),
    "apply": pgettext_lazy("audit action", "Applied for the service"),
    "change_number_visibility": pgettext_lazy("audit action", "Number visibility changed"),
    "change_opt_out_keywords": pgettext_lazy("audit action", "Opt-out keywords changed"),
    "login_locked_out": pgettext_lazy("audit action", "Locked out of logging in"),
    "erase_number": pgettext_lazy("audit action", "Number erased"),
}


def action_label(action):
    return ACTION_LABELS.get(action.rsplit(".", 1)[-1], action)


def _value(value):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= VALUE_SHOWN else text[:VALUE_SHOWN] + "…"


def changes(entry):
    """(field, before, after) for each field an entry names; before or after is None when absent."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    return [
        (key, _value(before[key]) if key in before else None, _value(after[key]) if key in after else None)
        for key in [*before, *(key for key in after if key not in before)]
    ]


@login_required
def audit_log(request):
    membership = require_operator(request)
    entries = AuditLog.objects.filter(account=membership.account).select_related("actor")
    chosen = request.GET.get("action", "")
    if chosen in ACTION_LABELS:
        entries = entries.filter(Q(action=chosen) | Q(action__endswith="." + chosen))
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page:
        entry.label = action_label(entry.action)
        entry.changes = changes(entry)
    actions = sorted(((action, str(label)) for action, label in ACTION_LABELS.items()), key=lambda item: item[1])
    return render(
        request,
        "accounts/audit_log.html",
        {
            "page": page,
            "actions": actions,
            "chosen": chosen if chosen in ACTION_LABELS else "",
            "query": f"action={chosen}" if chosen in ACTION_LABELS else "",
        },
    )
