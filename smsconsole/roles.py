"""Staff roles: the one place that says what each kind of staff user may do in the admin.

Reviewers decide on what operators submitted (qualifications, signatures, templates, and the
accounts' applications for the service) and see the account and application it belongs to;
nothing else. Contacts, opt-outs, memberships, provider
connections and the audit log are not theirs to read. Superusers are the administrators.
"""

from django.contrib.auth.models import Group, Permission

REVIEWER_GROUP = "Reviewers"

# (app label, model, actions): the admin's view/change permissions a reviewer holds.
REVIEWER_PERMISSIONS = [
    ("templates_app", "qualification", ("view", "change")),
    ("templates_app", "signature", ("view", "change")),
    ("templates_app", "template", ("view", "change")),
    ("accounts", "serviceapplication", ("view", "change")),
    ("smsconsole", "account", ("view",)),
    ("smsconsole", "application", ("view",)),
]


def _permissions(triples, using="default"):
    wanted = {(app_label, f"{action}_{model}") for app_label, model, actions in triples for action in actions}
    found = [
        permission
        for permission in Permission.objects.using(using).select_related("content_type")
        if (permission.content_type.app_label, permission.codename) in wanted
    ]
    if len(found) != len(wanted):
        raise LookupError("Some permissions are missing; run `manage.py migrate` first.")
    return found


def reviewer_group(using="default"):
    """The reviewers' group with exactly the reviewer permissions (created or brought up to date)."""
    permissions = _permissions(REVIEWER_PERMISSIONS, using)
    group, _created = Group.objects.using(using).get_or_create(name=REVIEWER_GROUP)
    group.permissions.set(permissions)
    return group


def make_reviewer(user):
    """Makes `user` a reviewer: staff, in the reviewers' group, with no permission of its own."""
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.user_permissions.clear()
    user.groups.add(reviewer_group())
    return user
