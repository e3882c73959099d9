import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from templates_app.models import validate_document
from tests.factories import PNG_1X1, png
from tests.qualification_helpers import PDF, pdf


def error_code(upload):
    with pytest.raises(ValidationError) as caught:
        validate_document(upload)
    return caught.value.code


def test_a_real_png_is_accepted():
    validate_document(png("licence.png"))


def test_a_real_pdf_is_accepted():
    validate_document(pdf("authorisation-letter_2024.pdf"))


def test_jpeg_and_gif_signatures_are_accepted():
    validate_document(SimpleUploadedFile("id.JPEG", b"\xff\xd8\xff\xe0rest"))
    validate_document(SimpleUploadedFile("id.gif", b"GIF89a rest"))


def test_it_refuses_an_extension_outside_the_allowed_formats():
    assert error_code(SimpleUploadedFile("licence.exe", PNG_1X1)) == "extension"
    assert error_code(SimpleUploadedFile("licence.docx", PDF)) == "extension"
    assert error_code(SimpleUploadedFile("licence", PNG_1X1)) == "extension"


def test_it_refuses_a_file_over_two_megabytes():
    big = SimpleUploadedFile("licence.pdf", PDF + b"0" * (2 * 1024 * 1024))
    assert error_code(big) == "size"


def test_a_file_of_exactly_two_megabytes_is_accepted():
    exact = SimpleUploadedFile("licence.pdf", PDF + b"0" * (2 * 1024 * 1024 - len(PDF)))
    assert exact.size == 2 * 1024 * 1024
    validate_document(exact)


def test_the_size_limit_follows_the_setting(settings):
    settings.SMS_DOCUMENT_MAX_BYTES = 10
    assert error_code(png()) == "size"


@pytest.mark.parametrize(
    "name",
    [
        "business licence.png",
        'a"b.png',
        "a#b.png",
        "a'b.png",
        "a$b.png",
        "a%b.png",
        "a&b.png",
        "a*b.png",
        "a|b.png",
        "a<b.png",
        "a>b.png",
        "a{b.png",
        "a}b.png",
        "a[b.png",
        "a]b.png",
        "a;b.png",
        "a?b.png",
        "a!b.png",
    ],
)
def test_it_refuses_names_with_spaces_or_forbidden_characters(name):
    assert error_code(SimpleUploadedFile(name, PNG_1X1)) == "name_chars"


def test_it_refuses_a_name_longer_than_64_characters():
    assert error_code(SimpleUploadedFile("x" * 61 + ".png", PNG_1X1)) == "name_length"


def test_a_name_of_exactly_64_characters_is_accepted():
    validate_document(SimpleUploadedFile("x" * 60 + ".png", PNG_1X1))


def test_chinese_file_names_are_accepted():
    validate_document(SimpleUploadedFile("营业执照.png", PNG_1X1))


def test_it_refuses_other_content_renamed_to_an_image():
    assert error_code(SimpleUploadedFile("licence.png", b"MZ\x90\x00 an executable")) == "content"
    assert error_code(SimpleUploadedFile("licence.jpg", PNG_1X1)) == "content"
    assert error_code(SimpleUploadedFile("licence.pdf", b"<html><script>")) == "content"


def test_checking_the_content_leaves_the_file_position_alone():
    upload = png()
    upload.seek(3)
    validate_document(upload)
    assert upload.tell() == 3
