"""The console's URLs plus a stand-in for the send records page (reports:records), for the statistics
page's drill-down tests while the console has no records page of its own: it echoes the query it got."""

from django.http import HttpResponse
from django.urls import include, path
from django.utils.html import escape

from reports.urls import urlpatterns as reports_patterns
from smsconsole.urls import urlpatterns as console_patterns


def records_standin(request):
    return HttpResponse(
        f"<html><body><h1>records</h1><p id='query'>{escape(request.GET.urlencode())}</p></body></html>"
    )


urlpatterns = [
    path("", include(([*reports_patterns, path("results/records/", records_standin, name="records")], "reports"))),
    *[p for p in console_patterns if getattr(p, "namespace", None) != "reports"],
]
