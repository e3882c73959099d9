# Placeholder views until the real ones land; every one answers 501.
from django.http import HttpResponse


def opt_out_list(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def opt_out_create(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def opt_out_import(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def opt_out_export(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def opt_out_delete(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)

