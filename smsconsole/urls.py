from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import joining
from api import wire
from smsconsole import views

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", RedirectView.as_view(url=static("smsconsole/favicon.svg"), permanent=True)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", joining.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Django's password reset (its views and token generator) in the console's pages.
    path("password-reset/", joining.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", joining.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", joining.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("password-reset/done/", joining.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
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
    path("", include("reports.urls")),
    path("", include("api.urls")),
    path("", include("accounts.urls")),
    path("", wire.api.urls),
]

handler400 = "smsconsole.errors.bad_request"
handler403 = "smsconsole.errors.permission_denied"
handler404 = "smsconsole.errors.page_not_found"
handler500 = "smsconsole.errors.server_error"
