import os

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from smsconsole.tenancy import get_scoped_or_404
from templates_app.models import Qualification

CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".pdf": "application/pdf",
}


@login_required
def qualification_document(request, pk, field):
    """Streams one qualification document to its account's members or to reviewers; media is never public."""
    if field not in Qualification.DOCUMENT_FIELDS:
        raise Http404
    user = request.user
    if user.is_staff and user.has_perm("templates_app.view_qualification"):
        # Reviewers belong to no account and read every account's documents from the admin.
        qualification = get_object_or_404(Qualification, pk=pk)
    else:
        qualification = get_scoped_or_404(request, Qualification, pk)
    document = getattr(qualification, field)
    if not document:
        raise Http404
    filename = os.path.basename(document.name)
    ext = os.path.splitext(filename)[1].lower()
    if ext not in CONTENT_TYPES:
        raise Http404
    try:
        handle = document.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=not CONTENT_TYPES[ext].startswith("image/"),
        filename=filename,
        content_type=CONTENT_TYPES[ext],
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    # Even if a crafted file got through the content check, it cannot run script from this origin.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response
