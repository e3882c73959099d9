# Placeholder views until the real ones land; every one answers 501.
from django.http import HttpResponse


def contact_list(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def contact_create(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def contact_edit(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def contact_delete(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)

