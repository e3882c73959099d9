"""What the console records when django-axes locks a user name or address out of the login."""

from django.contrib.auth import get_user_model

from smsconsole.models import AuditLog, Membership


def record_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    """An audit entry per lockout, on the account of the user named (if any), so its operators
    can see someone tried their colleague's password."""
    username = (username or "")[:150]
    user = get_user_model().objects.filter(username=username).first() if username else None
    membership = Membership.objects.filter(user=user).select_related("account").first() if user else None
    AuditLog.objects.create(
        account=membership.account if membership else None,
        action="login_locked_out",
        object_type="user",
        object_id=str(user.pk) if user else "",
        object_repr=username[:200],
        after={"username": username, "ip_address": ip_address},
    )


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out login gets (429), in the console's layout and language."""
    from django.conf import settings
    from django.shortcuts import render

    return render(
        request,
        "registration/locked_out.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        },
        status=429,
    )
