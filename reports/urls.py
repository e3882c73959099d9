from django.urls import path

from reports.views import diagnostics, replies, statistics

app_name = "reports"

urlpatterns = [
    path("results/replies/", replies.reply_list, name="replies"),
    path("results/pushes/", replies.push_list, name="pushes"),
    path("results/statistics/", statistics.statistics_page, name="statistics"),
    path("results/statistics/export.<str:fmt>", statistics.statistics_export, name="statistics_export"),
    path("results/campaigns/<int:pk>/diagnostics/", diagnostics.campaign_diagnostics, name="diagnostics"),
]
