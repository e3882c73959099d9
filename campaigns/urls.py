from django.urls import path

from campaigns.views import account_settings, campaigns, contact_lists, imports, opt_outs, provider_reports

app_name = "campaigns"

urlpatterns = [
    # Status reports pushed by the remote service of an HTTP provider connection (no login: the token).
    path("provider-reports/<str:token>/", provider_reports.status_reports, name="provider_status_reports"),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/new/", imports.import_create, name="import_create"),
    path("imports/sample/<int:template_pk>.<str:fmt>", imports.import_sample, name="import_sample"),
    path("imports/<int:pk>/", imports.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", imports.import_progress, name="import_progress"),
    path("imports/<int:pk>/cancel/", imports.import_cancel, name="import_cancel"),
    path("imports/<int:pk>/rejected.<str:fmt>", imports.import_rejected_download, name="import_rejected_download"),
    path("contact-lists/", contact_lists.list_index, name="contact_list_index"),
    path("contact-lists/new/", contact_lists.list_create, name="contact_list_create"),
    path("contact-lists/<int:pk>/", contact_lists.list_detail, name="contact_list_detail"),
    path("contact-lists/<int:pk>/edit/", contact_lists.list_edit, name="contact_list_edit"),
    path("contact-lists/<int:pk>/delete/", contact_lists.list_delete, name="contact_list_delete"),
    path("contact-lists/<int:pk>/import/", contact_lists.list_import, name="contact_list_import"),
    path("contact-lists/<int:pk>/export.<str:fmt>", contact_lists.list_export, name="contact_list_export"),
    path("contact-lists/<int:pk>/contacts/new/", contact_lists.contact_create, name="contact_create"),
    path("contact-lists/<int:pk>/contacts/<int:contact_pk>/edit/", contact_lists.contact_edit, name="contact_edit"),
    path(
        "contact-lists/<int:pk>/contacts/<int:contact_pk>/delete/", contact_lists.contact_delete, name="contact_delete"
    ),
    path("opt-outs/", opt_outs.opt_out_list, name="opt_out_list"),
    path("opt-outs/new/", opt_outs.opt_out_create, name="opt_out_create"),
    path("opt-outs/keywords/", opt_outs.opt_out_keywords, name="opt_out_keywords"),
    path("opt-outs/import/", opt_outs.opt_out_import, name="opt_out_import"),
    path("opt-outs/export.<str:fmt>", opt_outs.opt_out_export, name="opt_out_export"),
    path("opt-outs/<int:pk>/delete/", opt_outs.opt_out_delete, name="opt_out_delete"),
    path("campaigns/", campaigns.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaigns.campaign_create, name="campaign_create"),
    path("campaigns/options/signatures/", campaigns.campaign_options_signatures, name="campaign_options_signatures"),
    path("campaigns/options/templates/", campaigns.campaign_options_templates, name="campaign_options_templates"),
    path("campaigns/options/audiences/", campaigns.campaign_options_audiences, name="campaign_options_audiences"),
    path("campaigns/<int:pk>/", campaigns.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", campaigns.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/confirm/", campaigns.campaign_confirm, name="campaign_confirm"),
    path("campaigns/<int:pk>/progress/", campaigns.campaign_progress, name="campaign_progress"),
    path("campaigns/<int:pk>/pause/", campaigns.campaign_pause, name="campaign_pause"),
    path("campaigns/<int:pk>/resume/", campaigns.campaign_resume, name="campaign_resume"),
    path("campaigns/<int:pk>/cancel/", campaigns.campaign_cancel, name="campaign_cancel"),
    path("campaigns/<int:pk>/copy/", campaigns.campaign_copy, name="campaign_copy"),
    path("settings/sending/", account_settings.sending_settings, name="sending_settings"),
    path("settings/balance/", account_settings.balance, name="balance"),
]
