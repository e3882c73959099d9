from django.urls import path

from templates_app.views import contacts, documents, qualifications, signatures, templates

app_name = "templates_app"

urlpatterns = [
    path("qualifications/", qualifications.qualification_list, name="qualification_list"),
    path("qualifications/new/", qualifications.qualification_create, name="qualification_create"),
    path("qualifications/batch-delete/", qualifications.qualification_batch_delete, name="qualification_batch_delete"),
    path("qualifications/<int:pk>/", qualifications.qualification_detail, name="qualification_detail"),
    path("qualifications/<int:pk>/edit/", qualifications.qualification_edit, name="qualification_edit"),
    path("qualifications/<int:pk>/delete/", qualifications.qualification_delete, name="qualification_delete"),
    path(
        "qualifications/<int:pk>/documents/<str:field>/",
        documents.qualification_document,
        name="qualification_document",
    ),
    path("signatures/", signatures.signature_list, name="signature_list"),
    path("signatures/new/", signatures.signature_create, name="signature_create"),
    path("signatures/<int:pk>/", signatures.signature_detail, name="signature_detail"),
    path("signatures/<int:pk>/edit/", signatures.signature_edit, name="signature_edit"),
    path("signatures/<int:pk>/urge/", signatures.signature_urge, name="signature_urge"),
    path("signatures/<int:pk>/delete/", signatures.signature_delete, name="signature_delete"),
    path(
        "signatures/<int:pk>/qualification/",
        signatures.signature_attach_qualification,
        name="signature_attach_qualification",
    ),
    path(
        "signatures/<int:pk>/activation/", signatures.signature_request_activation, name="signature_request_activation"
    ),
    path("templates/", templates.template_list, name="template_list"),
    path("templates/new/", templates.template_create, name="template_create"),
    path("templates/preview/", templates.template_preview, name="template_preview"),
    path("templates/signature-options/", templates.template_signature_options, name="template_signature_options"),
    path("templates/batch-delete/", templates.template_batch_delete, name="template_batch_delete"),
    path("templates/<int:pk>/", templates.template_detail, name="template_detail"),
    path("templates/<int:pk>/edit/", templates.template_edit, name="template_edit"),
    path("templates/<int:pk>/submit/", templates.template_submit, name="template_submit"),
    path("templates/<int:pk>/withdraw/", templates.template_withdraw, name="template_withdraw"),
    path("templates/<int:pk>/urge/", templates.template_urge, name="template_urge"),
    path("templates/<int:pk>/delete/", templates.template_delete, name="template_delete"),
    path("contacts/", contacts.contact_list, name="contact_list"),
    path("contacts/new/", contacts.contact_create, name="contact_create"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", contacts.contact_delete, name="contact_delete"),
]
