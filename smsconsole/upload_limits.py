"""Refuses oversized uploads while they are read, instead of storing them first.

Django writes every uploaded file to memory or a temporary file before any view sees it, and has
no limit of its own on file parts: a 300 MB body was stored whole and only then refused. This
handler, first in FILE_UPLOAD_HANDLERS, counts each file's bytes; once a file passes
SMS_UPLOAD_MAX_BYTES (the largest file any console form accepts) the rest of it is discarded as
it arrives, and the form receives a placeholder of the file's size, which the form's own size
check turns into its usual message. A reverse proxy in front should refuse such bodies before
they reach Django at all (README: client_max_body_size).
"""

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class OversizedUpload(UploadedFile):
    """What the form sees of a file that was too large to keep: its name and size, no content."""

    def __init__(self, name, content_type, size):
        super().__init__(file=None, name=name, content_type=content_type, size=size)

    def open(self, mode=None):
        raise ValueError("an oversized upload was not stored")

    def chunks(self, chunk_size=None):
        raise ValueError("an oversized upload was not stored")

    def close(self):
        pass


def too_large(upload, limit):
    """The size rule of every upload form: over its own limit, or too large to have been kept."""
    return isinstance(upload, OversizedUpload) or upload.size > limit


class LimitedUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        # A body larger than the limit plus every other field cannot hold an acceptable file.
        self.oversized = bool(
            self.content_length and self.content_length > self.limit + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        )

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.content_length = content_length
        self.limit = settings.SMS_UPLOAD_MAX_BYTES

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.oversized = True
        # Returning None keeps the chunk from the handlers after this one (memory, temporary file).
        return None if self.oversized else raw_data

    def file_complete(self, file_size):
        if self.oversized:
            return OversizedUpload(self.file_name, self.content_type, self.received)
        return None
