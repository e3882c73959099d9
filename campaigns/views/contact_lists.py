# Placeholder views until the real ones land; every one answers 501.
from django.http import HttpResponse


def list_index(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def list_create(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def list_detail(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def list_edit(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def list_delete(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def list_import(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def list_export(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def contact_create(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def contact_edit(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def contact_delete(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)

