# Placeholder views until the real ones land; every one answers 501.
from django.http import HttpResponse


def template_list(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def template_create(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def template_preview(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def template_batch_delete(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def template_detail(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def template_edit(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def template_submit(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def template_withdraw(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def template_urge(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def template_delete(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)

