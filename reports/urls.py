from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("results/statistics/", views.statistics_page, name="statistics"),
    path("results/statistics/export.<str:fmt>", views.statistics_export, name="statistics_export"),
    path("results/campaigns/<int:pk>/diagnostics/", views.campaign_diagnostics, name="diagnostics"),
]
