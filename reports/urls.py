from django.urls import path

from reports.views import diagnostics, statistics

app_name = "reports"

# Under /results/ (smsconsole/urls.py): one plain list, each results page adds its lines.
urlpatterns = [
    path("statistics/", statistics.statistics_page, name="statistics"),
    path("statistics/export.<str:fmt>", statistics.statistics_export, name="statistics_export"),
    path("campaigns/<int:pk>/diagnostics/", diagnostics.campaign_diagnostics, name="diagnostics"),
]
