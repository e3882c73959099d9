# Placeholder views until the real ones land; every one answers 501.
from django.http import HttpResponse


def qualification_document(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)

