"""The cloud-compatible HTTP API (django-ninja): the management calls of the reference under
/v2/{project_id}/msgsms/ (signed with an account's access key), and the send calls under /sms/
(signed with an application's app key and secret). Its OpenAPI description is /api/openapi.json.

django-ninja generates the description from the handlers' own schemas and auth classes; its request
cost under gunicorn is measured by bench_api (docs/benchmarks.md; no comparison with DRF is recorded).
"""

from django.http import JsonResponse
from ninja import NinjaAPI, Path, Router, Schema

from api.errors import ApiError
from api.management_auth import AccessKeySignature, ManagementError
from smsconsole.regions import region_choices

api = NinjaAPI(
    title="smsconsole cloud-compatible SMS API",
    version="1",
    description="Wire-compatible with the cloud SMS service's send and management APIs: point existing code at this "
    "console's address. Management calls are signed SDK-HMAC-SHA256 with an account access key (project_id = the "
    "account's id); send calls with an application's app key and secret (X-WSSE or SDK-HMAC-SHA256).",
    docs_url=None,
    openapi_url="/api/openapi.json",
    urls_namespace="wire",
)


@api.exception_handler(ManagementError)
def management_error(request, error):
    return JsonResponse({"error_code": error.code, "error_msg": error.message}, status=error.status)


@api.exception_handler(ApiError)
def send_error(request, error):
    return error.response()


class ManagementErrorOut(Schema):
    error_code: str
    error_msg: str


management = Router(tags=["management"], auth=AccessKeySignature())


class CountryOut(Schema):
    country_id: int
    country_name_en: str
    country_name_zh: str


@management.get(
    "/country",
    response={200: list[CountryOut], 401: ManagementErrorOut, 403: ManagementErrorOut},
    summary="Countries and regions messages can be sent to",
)
def list_countries(request, project_id: Path[str], country_name_en: str = "", country_name_zh: str = ""):
    from django.utils import translation

    with translation.override("en"):
        english = dict(region_choices())
    with translation.override("zh-hans"):
        chinese = dict(region_choices())
    countries = {}
    for region, label in english.items():
        code = int(label.rsplit("+", 1)[1])
        name_en, name_zh = label.rsplit(" +", 1)[0], chinese[region].rsplit(" +", 1)[0]
        if country_name_en.lower() in name_en.lower() and country_name_zh in name_zh:
            countries.setdefault(code, {"country_id": code, "country_name_en": name_en, "country_name_zh": name_zh})
    return sorted(countries.values(), key=lambda country: country["country_id"])


from api import management as template_management  # noqa: E402 (the routers are mounted below)

management.add_router("", template_management.router)
api.add_router("/v2/{project_id}/msgsms/", management)

from api import send_views  # noqa: E402

api.add_router("/sms/", send_views.router)
