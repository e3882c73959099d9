# Placeholder views until the real ones land; every one answers 501.
from django.http import HttpResponse


def dashboard(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def application_list(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def application_create(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def application_detail(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def application_edit(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def application_reset_secret(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def application_launch(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def application_suspend(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)

