from django.urls import path

from reports.views import diagnostics, failed, records, replies, statistics

app_name = "reports"

# One plain list: each results page (records, statistics, replies, diagnostics, pushes) adds its lines.
urlpatterns = [
    path("results/records/", records.record_list, name="records"),
    path("results/records/export.<str:fmt>", records.record_export, name="records_export"),
    path("results/records/<int:pk>/", records.record_detail, name="record"),
    path("results/campaigns/<int:pk>/failed.<str:fmt>", failed.failed_numbers, name="failed_numbers"),
    path("results/campaigns/<int:pk>/resend-failed/", failed.resend_failed, name="resend_failed"),
    path("results/replies/", replies.reply_list, name="replies"),
    path("results/pushes/", replies.push_list, name="pushes"),
    path("results/statistics/", statistics.statistics_page, name="statistics"),
    path("results/statistics/export.<str:fmt>", statistics.statistics_export, name="statistics_export"),
    path("results/campaigns/<int:pk>/diagnostics/", diagnostics.campaign_diagnostics, name="diagnostics"),
]
