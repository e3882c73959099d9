"""The status-report receiver of HTTP provider connections: the remote service (a cloud SMS account
or another console) POSTs its reports to the statusCallback this console sent with each request.

The URL's token names the connection and is the only credential (the reference's pushes carry no
signature by default): unknown tokens get 404, and a report can only ever match the messages that
connection submitted. Reports go through the receipt ingestion (campaigns.receipts.ingest): those
that match a submitted message move it in the lifecycle, the others wait as pending receipts for
the gateway to match once it has recorded the submit result.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from campaigns import receipts
from campaigns.models import ProviderConnection
from sms import cloud_client


@csrf_exempt
@require_POST
def status_reports(request, token):
    connection = ProviderConnection.objects.filter(callback_token=token, kind=ProviderConnection.Kind.HTTP).first()
    if connection is None:
        return JsonResponse({"code": "E000404", "description": "unknown status report address"}, status=404)
    try:
        if request.content_type == "application/json":  # a batch: {"statusReportList": [...]}
            reports = cloud_client.parse_status_reports(request.content_type, request.body)
        else:  # one report, form-encoded (Django reads multipart alike)
            reports = [cloud_client.report_from_fields(request.POST.dict())]
    except cloud_client.ReportError as error:
        return JsonResponse({"code": "E000503", "description": str(error)}, status=400)
    received, applied = receipts.ingest(connection.pk, cloud_client.report_receipts(reports))
    return JsonResponse({"code": "000000", "description": "Success", "reports": len(reports), "applied": applied})
