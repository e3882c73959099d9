"""The account's audit log in the console: every recorded change and export, newest first.

Operators only: entries name members and hold what changed, numbers of contacts included.
"""

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from smsconsole.models import AuditLog
from smsconsole.tenancy import require_operator

PAGE_SIZE = 50
VALUE_SHOWN = 120

# What the page calls each action; actions are also written "template.submit" (the noun first).
ACTION_LABELS = {
    "create": _("Created"), "edit": _("Edited"), "update": _("Edited"), "change": _("Changed"),
    "delete": _("Deleted"), "submit": _("Submitted"), "resubmit": _("Submitted again"), "withdraw": _("Withdrawn"),
    "urge": _("Urged"), "approve": _("Approved"), "reject": _("Rejected"), "deactivate": _("Deactivated"),
    "launch": _("Launched"), "schedule": _("Scheduled"), "suspend": _("Suspended"), "pause": _("Paused"),
    "resume": _("Resumed"), "cancel": _("Cancelled"), "copy": _("Copied"), "reset_secret": _("Secret reset"),
    "revoke": _("Revoked"), "import_contacts": _("Contacts imported"), "import_opt_outs": _("Opt-outs imported"),
    "export": _("Exported"), "sign_up": _("Signed up"), "join": _("Joined"), "invite": _("Invited"),
    "resend_invitation": _("Invitation sent again"), "revoke_invitation": _("Invitation withdrawn"),
    "change_role": _("Role changed"), "remove_member": _("Member removed"), "password_reset": _("Password reset"),
    "apply": _("Applied for the service"), "change_number_visibility": _("Number visibility changed"),
    "login_locked_out": _("Locked out of logging in"),
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
    return render(request, "accounts/audit_log.html", {
        "page": page, "actions": actions, "chosen": chosen if chosen in ACTION_LABELS else "",
        "query": f"action={chosen}&" if chosen in ACTION_LABELS else "",
    })
