"""The send API answers an account that is not activated for the SMS service with E000109."""

import pytest
from django.test import RequestFactory

from accounts.models import ServiceApplication
from api.auth import authenticate_application
from api.errors import ApiError
from sms import signing


def signed_request(application):
    headers = signing.wsse_headers(application.app_key, application.app_secret)
    return RequestFactory().post(
        "/sms/batchSendSms/v1", HTTP_AUTHORIZATION=headers["Authorization"], HTTP_X_WSSE=headers["X-WSSE"]
    )


def test_an_account_that_is_not_activated_gets_e000109(shop, acme):
    shop.launch()
    ServiceApplication.objects.filter(account=acme).update(status=ServiceApplication.Status.REJECTED)
    with pytest.raises(ApiError) as refused:
        authenticate_application(signed_request(shop))
    assert refused.value.code == "E000109" and refused.value.status == 403


def test_a_pending_account_gets_e000109_too(factories):
    account = factories.create_account("Newcomer", activated=False)
    app = factories.create_application(account, "Shop")
    app.launch()
    ServiceApplication.apply(account, None, "Codes")
    with pytest.raises(ApiError) as refused:
        authenticate_application(signed_request(app))
    assert refused.value.code == "E000109"
