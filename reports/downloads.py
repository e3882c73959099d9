"""Downloads of results: CSV or XLSX, both streamed as they are written, formula-safe (campaigns.exports)."""

from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from campaigns.exports import csv_lines, xlsx_chunks

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def streamed_download(fmt, filename, header, rows):
    """A response that writes `rows` while the client reads them, however many there are."""
    if fmt not in CONTENT_TYPES:
        raise Http404
    body = csv_lines(header, rows) if fmt == "csv" else xlsx_chunks(header, rows)
    response = StreamingHttpResponse(body, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = content_disposition_header(True, f"{filename}-{stamp}.{fmt}")
    return response
