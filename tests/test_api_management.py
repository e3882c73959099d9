"""Templates and signatures through the management API, called with the official management SDK
(huaweicloudsdkmsgsms) unmodified: the same checks and review workflow as the console."""

import pytest

from api.models import create_access_key
from smsconsole.models import AuditLog
from templates_app.models import Signature, Template
from tests.sending_helpers import sending_redis  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

CONTENT = "您的订单${1}已发货，请注意查收。"


@pytest.fixture
def sdk(live_server, acme, alice, sending_redis):  # noqa: F811
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkmsgsms.v2 import MsgsmsClient

    key, secret = create_access_key(acme, "sync", alice)
    return (
        MsgsmsClient.new_builder()
        .with_credentials(BasicCredentials(key.access_key, secret, str(acme.pk)))
        .with_endpoints([live_server.url])
        .build()
    )


@pytest.fixture
def signature(factories, shop):
    return factories.create_signature(shop, name="Acme", type="notification")


def template_body(shop, signature, **fields):
    from huaweicloudsdkmsgsms.v2 import SmsTemplateReq, SmsTemplateVariableAttrReq

    values = dict(
        app_id=str(shop.pk),
        template_name="order_shipped",
        template_content=CONTENT,
        template_type="NOTIFY_TYPE",
        sign_id=str(signature.pk),
        universal_template=0,
        region="cn",
        brackets="CN",
        template_desc="orders",
        variable_attributes=[
            SmsTemplateVariableAttrReq(variable_index=1, variable_type="CHARDIGIT", variable_desc="order")
        ],
        flow_status="Reviewing",
    )
    values.update(fields)
    return SmsTemplateReq(**values)


def test_a_template_applied_for_through_the_sdk_waits_at_the_review_desk(sdk, acme, shop, signature):
    from huaweicloudsdkmsgsms.v2 import CreateTemplateRequest, ListTemplateDetailsRequest, ShowTemplateRequest

    created = sdk.create_template(CreateTemplateRequest(body=template_body(shop, signature)))
    template = Template.objects.get(pk=int(created.id))
    assert (template.status, template.signature, template.name) == ("pending_review", signature, "order_shipped")
    [variable] = template.variables.all()
    assert (variable.attribute, variable.description) == ("CHARDIGIT", "order")
    listed = sdk.list_template_details(ListTemplateDetailsRequest(flow_status="Reviewing"))
    assert listed.total == 1 and listed.results[0].template_content == CONTENT
    shown = sdk.show_template(ShowTemplateRequest(id=created.id))
    assert (shown.flow_status, shown.has_variable, shown.app_key) == ("Reviewing", "Yes", shop.app_key)
    assert AuditLog.objects.filter(action="template.submit", account=acme, object_id=created.id).exists()


def test_the_consoles_template_rules_refuse_a_bad_template(sdk, shop, signature):
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkmsgsms.v2 import CreateTemplateRequest

    body = template_body(shop, signature, template_content="Visit http://bit.ly/x for ${1}")
    with pytest.raises(ClientRequestException) as error:
        sdk.create_template(CreateTemplateRequest(body=body))
    assert error.value.status_code == 400 and error.value.error_code == "MSGSMS.0001"
    assert "short link" in error.value.error_msg
    assert not Template.objects.exists()


def test_variables_modify_and_batch_delete(sdk, factories, shop, signature):
    from huaweicloudsdkmsgsms.v2 import (
        CreateTemplateRequest,
        DeleteTemplateRequest,
        ListTemplateVarilableDetailsRequest,
        UpdateTemplateRequest,
    )

    first = sdk.create_template(CreateTemplateRequest(body=template_body(shop, signature, flow_status="Pending")))
    second = sdk.create_template(
        CreateTemplateRequest(body=template_body(shop, signature, template_name="t2", flow_status="Pending"))
    )
    variables = sdk.list_template_varilable_details(ListTemplateVarilableDetailsRequest(id=first.id))
    assert [(v.variable_index, v.variable_type, v.variable_length) for v in variables.results] == [(1, "CHARDIGIT", 20)]
    sdk.update_template(
        UpdateTemplateRequest(
            id=first.id, body=template_body(shop, signature, template_name="renamed", flow_status="Pending")
        )
    )
    assert Template.objects.get(pk=int(first.id)).name == "renamed"
    sdk.delete_template(DeleteTemplateRequest(id=f"{first.id},{second.id}"))
    assert not Template.objects.exists()


def test_an_active_template_cannot_be_modified(sdk, factories, shop, signature):
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkmsgsms.v2 import UpdateTemplateRequest

    active = factories.create_template(
        shop, signature=signature, name="live", content=CONTENT, variables=[("CHARDIGIT", 20)]
    )
    with pytest.raises(ClientRequestException) as error:
        sdk.update_template(
            UpdateTemplateRequest(id=str(active.pk), body=template_body(shop, signature, flow_status="Pending"))
        )
    assert error.value.error_code == "MSGSMS.0187"


def test_signatures_are_listed_applied_for_and_deleted(sdk, factories, acme, shop, signature):
    from huaweicloudsdkmsgsms.v2 import (
        CreateSignatureRequest,
        DeleteSignatureRequest,
        ListSignatureDetailsRequest,
        ShowSignatureRequest,
        SmsSignatureReq,
    )

    qualification = signature.qualification
    listed = sdk.list_signature_details(ListSignatureDetailsRequest())
    assert [(s.signature_name, s.status, s.channel_num) for s in listed.results] == [
        ("Acme", "REVIEW_PROCESSING_COMPLETED", signature.channel_number)
    ]
    created = sdk.create_signature(
        CreateSignatureRequest(
            body=SmsSignatureReq(
                app_id=str(shop.pk),
                signature_name="AcmeShop",
                signature_type="PROMOTION_TYPE",
                signature_source=4,
                qualification_id=str(qualification.pk),
                apply_desc="our shop",
            )
        )
    )
    new = Signature.objects.get(pk=int(created.id))
    assert (new.type, new.source, new.status) == ("promotion", "shop", "pending_review")
    assert sdk.show_signature(ShowSignatureRequest(id=created.id)).status == "PENDING_REVIEW"
    new.reject(factories.create_reviewer("rita2"), "sig_neutral", "")
    sdk.delete_signature(DeleteSignatureRequest(id=created.id))
    assert not Signature.objects.filter(pk=new.pk).exists()


def test_the_sdk_reads_the_carrier_states_and_asks_for_an_activation(sdk, factories, acme, shop, signature):
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkmsgsms.v2 import EnableSignatureRequest, ListSignatureDetailsRequest, ShowSignatureRequest

    refused = factories.create_signature(
        shop, name="Refused", status=Signature.Status.FILING_FAILED, carrier_reason="Licence expired"
    )
    lapsed = factories.create_signature(shop, name="Lapsed", status=Signature.Status.TO_BE_ACTIVATED)
    legacy = factories.create_signature(shop, name="Old", status=Signature.Status.LEGACY_UNQUALIFIED)

    shown = sdk.show_signature(ShowSignatureRequest(id=str(refused.pk)))
    assert (shown.status, shown.review_desc) == ("REVIEW_NOT_PASS", "Licence expired")
    assert sdk.show_signature(ShowSignatureRequest(id=str(legacy.pk))).status == "REVIEW_PASSED"
    waiting = sdk.list_signature_details(ListSignatureDetailsRequest(status="TO_BE_ACTIVATED"))
    assert [s.signature_name for s in waiting.results] == ["Lapsed"]

    sdk.enable_signature(EnableSignatureRequest(id=str(lapsed.pk)))
    lapsed.refresh_from_db()
    assert lapsed.status == Signature.Status.PENDING_ACTIVATION
    assert AuditLog.objects.filter(action="request_activation", account=acme, object_id=str(lapsed.pk)).exists()
    with pytest.raises(ClientRequestException) as error:
        sdk.enable_signature(EnableSignatureRequest(id=str(signature.pk)))
    assert (error.value.status_code, error.value.error_code) == (400, "MSGSMS.0130")


def test_another_accounts_key_sees_none_of_acmes_templates(
    live_server, factories, other_co, charlie, shop, signature, sending_redis
):  # noqa: F811
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkmsgsms.v2 import ListTemplateDetailsRequest, MsgsmsClient, ShowTemplateRequest

    template = factories.create_template(shop, signature=signature, content=CONTENT, variables=[("CHARDIGIT", 20)])
    key, secret = create_access_key(other_co, "theirs", charlie)
    theirs = (
        MsgsmsClient.new_builder()
        .with_credentials(BasicCredentials(key.access_key, secret, str(other_co.pk)))
        .with_endpoints([live_server.url])
        .build()
    )
    assert theirs.list_template_details(ListTemplateDetailsRequest()).total == 0
    with pytest.raises(ClientRequestException) as error:
        theirs.show_template(ShowTemplateRequest(id=str(template.pk)))
    assert error.value.status_code == 404
