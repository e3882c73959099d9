from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_reviewer_group(using="default", **kwargs):
    # Every app's permissions are created by its own post_migrate; the group waits for the last.
    from smsconsole import roles

    try:
        roles.reviewer_group(using)
    except LookupError:
        pass


class SmsconsoleConfig(AppConfig):
    name = "smsconsole"
    verbose_name = _("Accounts and applications")

    def ready(self):
        from axes.signals import user_locked_out

        from smsconsole.logins import record_lockout

        # The reviewers' group exists wherever the database does: staff join it in the admin.
        post_migrate.connect(_ensure_reviewer_group, dispatch_uid="smsconsole.reviewer_group")
        user_locked_out.connect(record_lockout, dispatch_uid="smsconsole.record_lockout")
