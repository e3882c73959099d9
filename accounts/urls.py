from django.urls import path

from accounts.views import activation, audit, joining, team

app_name = "accounts"

urlpatterns = [
    path("signup/", joining.signup, name="signup"),
    path("signup/sent/", joining.signup_sent, name="signup_sent"),
    path("signup/<str:token>/", joining.signup_complete, name="signup_complete"),
    path("join/<str:token>/", joining.invitation_accept, name="invitation_accept"),
    path("team/", team.team, name="team"),
    path("team/invite/", team.invite, name="invite"),
    path("team/invitations/<int:pk>/resend/", team.invitation_resend, name="invitation_resend"),
    path("team/invitations/<int:pk>/withdraw/", team.invitation_revoke, name="invitation_revoke"),
    path("team/members/<int:pk>/role/", team.member_role, name="member_role"),
    path("team/members/<int:pk>/remove/", team.member_remove, name="member_remove"),
    path("team/numbers/", team.number_visibility, name="number_visibility"),
    path("activation/", activation.activation, name="activation"),
    path("activation/terms/", activation.terms, name="terms"),
    path("audit/", audit.audit_log, name="audit_log"),
]
