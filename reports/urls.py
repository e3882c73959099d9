from django.urls import path

from reports.views import failed, records

app_name = "reports"

# One plain list: each results page (records, statistics, replies, diagnostics, pushes) adds its lines.
urlpatterns = [
    path("records/", records.record_list, name="records"),
    path("records/export.<str:fmt>", records.record_export, name="records_export"),
    path("records/<int:pk>/", records.record_detail, name="record"),
    path("campaigns/<int:pk>/failed.<str:fmt>", failed.failed_numbers, name="failed_numbers"),
    path("campaigns/<int:pk>/resend-failed/", failed.resend_failed, name="resend_failed"),
]
