# Placeholder views until the real ones land; every one answers 501.
from django.http import HttpResponse


def signature_list(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def signature_create(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def signature_detail(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def signature_edit(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def signature_urge(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def signature_delete(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)

