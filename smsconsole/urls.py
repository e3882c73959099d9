from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from smsconsole import views

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", RedirectView.as_view(url=static("smsconsole/favicon.svg"), permanent=True)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/new/", views.application_create, name="application_create"),
    path("applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("applications/<int:pk>/edit/", views.application_edit, name="application_edit"),
    path("applications/<int:pk>/reset-secret/", views.application_reset_secret, name="application_reset_secret"),
    path("applications/<int:pk>/launch/", views.application_launch, name="application_launch"),
    path("applications/<int:pk>/suspend/", views.application_suspend, name="application_suspend"),
    path("", include("templates_app.urls")),
    path("", include("campaigns.urls")),
]

handler400 = "smsconsole.errors.bad_request"
handler403 = "smsconsole.errors.permission_denied"
handler404 = "smsconsole.errors.page_not_found"
handler500 = "smsconsole.errors.server_error"
