"""The one place that ties a request to its account. Every console query goes through here."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from smsconsole.models import Membership


def get_membership(request):
    """The signed-in user's membership, or None for staff without an account."""
    if not request.user.is_authenticated:
        return None
    if not hasattr(request, "_membership"):
        request._membership = Membership.objects.select_related("account").filter(user=request.user).first()
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


def scoped(request, model, *, account_path="account"):
    """`model`'s objects that belong to the request's account; `account_path` is the lookup to it."""
    membership = require_membership(request)
    return model.objects.filter(**{account_path: membership.account})


def get_scoped_or_404(request, model, pk, *, account_path="account"):
    obj = scoped(request, model, account_path=account_path).filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def membership_context(request):
    return {"membership": get_membership(request)}
