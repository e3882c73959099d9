from django.urls import path

from reports import views

app_name = "reports"

# One plain list: each results page (records, statistics, replies, diagnostics, pushes) adds its lines.
urlpatterns = [
    path("records/", views.records.record_list, name="records"),
]
