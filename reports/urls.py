from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("results/replies/", views.reply_list, name="replies"),
    path("results/pushes/", views.push_list, name="pushes"),
]
