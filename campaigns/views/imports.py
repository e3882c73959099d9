# Placeholder views until the real ones land; every one answers 501.
from django.http import HttpResponse


def import_list(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def import_create(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def import_sample(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def import_detail(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def import_progress(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def import_cancel(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def import_rejected_download(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)

