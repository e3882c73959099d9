"""The one place that ties a request to its account. Every console query goes through here."""

import zoneinfo

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from smsconsole.models import Membership


def get_membership(request):
    """The signed-in user's membership, or None for staff without an account."""
    if not request.user.is_authenticated:
        return None
    if not hasattr(request, "_membership"):
        # The service application comes along: every page shows or checks the account's activation.
        request._membership = (
            Membership.objects.select_related("account", "account__service_application")
            .filter(user=request.user)
            .first()
        )
    return request._membership


def require_membership(request):
    membership = get_membership(request)
    if membership is None:
        raise PermissionDenied("This user belongs to no account.")
    return membership


def require_operator(request):
    membership = require_membership(request)
    if not membership.can_edit:
        raise PermissionDenied("Read-only members cannot change anything.")
    return membership


MAX_ID = 2**63 - 1  # the largest value of a BigAutoField


def parse_id(raw):
    """An object id typed into a URL or form as an int, or None.

    ASCII digits only: `str.isdigit()` also accepts "²" and other Unicode digits, which int()
    refuses or the database cannot compare, and an id beyond the column's range is no id either.
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 0 < raw <= MAX_ID else None
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def scoped(request, model, *, account_path="account"):
    """`model`'s objects that belong to the request's account; `account_path` is the lookup to it."""
    membership = require_membership(request)
    return model.objects.filter(**{account_path: membership.account})


def get_scoped_or_404(request, model, pk, *, account_path="account"):
    pk = parse_id(pk)
    if pk is None:
        raise Http404
    obj = scoped(request, model, account_path=account_path).filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


class AccountTimezoneMiddleware:
    """Shows every time of a member's pages and exports in the account's time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = get_membership(request)
        if membership is not None:
            timezone.activate(zoneinfo.ZoneInfo(membership.account.timezone))
        else:
            timezone.deactivate()
        return self.get_response(request)


def membership_context(request):
    return {"membership": get_membership(request)}
