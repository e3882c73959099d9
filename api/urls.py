from django.urls import path

from api import views

app_name = "api"
urlpatterns = [
    path("access-keys/", views.access_key_list, name="access_key_list"),
    path("access-keys/new/", views.access_key_create, name="access_key_create"),
    path("access-keys/<int:pk>/revoke/", views.access_key_revoke, name="access_key_revoke"),
]
