# Placeholder views until the real ones land; every one answers 501.
from django.http import HttpResponse


def qualification_list(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def qualification_create(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def qualification_batch_delete(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def qualification_detail(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def qualification_edit(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)


def qualification_delete(request, *args, **kwargs):
    return HttpResponse('not implemented', status=501)

