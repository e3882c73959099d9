"""The console's error pages (400, 403, 404, 500): in its layout and the reader's language.

The 500 page renders without the request's context processors: whatever failed (the database,
say) must not fail the error page too.
"""

from django.http import HttpResponseServerError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _


def _page(request, status, title, message, **extra):
    return render(request, "smsconsole/error.html", {"title": title, "message": message, **extra}, status=status)


def bad_request(request, exception=None):
    if isinstance(exception, MultiPartParserError):
        # Django refuses a form part whose headers exceed 1 KB, which a very long file name does.
        message = _(
            "The upload could not be read. If the file has a very long name, rename it to something "
            "shorter (at most 200 characters) and upload it again."
        )
    else:
        message = _("The request could not be understood. Go back, check what you entered and try again.")
    return _page(request, 400, _("Bad request"), message)


def permission_denied(request, exception=None):
    return _page(
        request,
        403,
        _("Not allowed"),
        _(
            "Your role does not allow this. Read-only members can look at everything of their account "
            "but change nothing; ask an operator of your account."
        ),
    )


def page_not_found(request, exception=None):
    return _page(
        request,
        404,
        _("Page not found"),
        _("There is nothing at this address, or it belongs to another account."),
    )


def server_error(request):
    html = loader.get_template("smsconsole/error_500.html").render(
        {
            "title": _("Something went wrong"),
            "message": _("The console could not complete this request. It has been logged; try again in a moment."),
        }
    )
    return HttpResponseServerError(html)
