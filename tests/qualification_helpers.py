"""Uploads and form data for qualification and signature tests."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import PNG_1X1, png

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name="letter.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def qualification_post(name="Acme filing", purpose="own_use", **overrides):
    """The multipart data of a complete qualification form; `overrides` replace single fields."""
    data = {
        "name": name,
        "company_name": "Acme Ltd",
        "credit_code": "91310000MA1FL0000X",
        "purpose": purpose,
        "legal_representative": "Zhang San",
        "handler_name": "Li Si",
        "business_licence": png("licence.png"),
        "legal_person_id": png("legal.png"),
        "handler_id_front": png("front.png"),
        "handler_id_back": SimpleUploadedFile("back.jpg", b"\xff\xd8\xff\xe0" + PNG_1X1, content_type="image/jpeg"),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
