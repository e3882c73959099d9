import pytest

from campaigns import planning
from campaigns.models import Batch, Campaign, Contact, ContactList, Message, OptOut
from campaigns.tasks import plan_campaign
from sms import text
from tests.sending_helpers import (  # noqa: F401 (fixture)
    counters,
    create_campaign,
    create_connection,
    create_import,
    phones,
    sending_redis,
)


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Your order ${1} has shipped.")


@pytest.fixture
def simulator_connection(db):
    return create_connection()


def launched(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    campaign.refresh_from_db()
    return campaign


def test_planning_creates_one_queued_message_per_recipient_with_its_variables(shop, template, simulator_connection):
    rows = [("+8613800000001", ["A1"]), ("+8613800000002", ["B2"])]
    campaign = launched(create_campaign(shop, template, simulator_connection, rows))

    result = plan_campaign(campaign.pk)

    messages = list(
        Message.objects.filter(campaign=campaign)
        .order_by("id")
        .values_list("phone", "variables", "status", "connection_id")
    )
    assert messages == [
        ("+8613800000001", ["A1"], "queued", simulator_connection.pk),
        ("+8613800000002", ["B2"], "queued", simulator_connection.pk),
    ]
    assert result["total"] == 2
    campaign.refresh_from_db()
    assert campaign.planned_at is not None


def test_opted_out_recipients_are_skipped_with_the_reason_including_opt_outs_added_after_the_import(
    acme, shop, template, simulator_connection
):
    numbers = phones(4)
    imp = create_import(shop, template, numbers, opted_out={numbers[0]})
    OptOut.objects.create(account=acme, phone=numbers[1])  # opted out after the import
    campaign = launched(create_campaign(shop, template, simulator_connection, recipient_import=imp))

    plan_campaign(campaign.pk)

    statuses = dict(Message.objects.filter(campaign=campaign).values_list("phone", "status"))
    assert statuses == {numbers[0]: "skipped", numbers[1]: "skipped", numbers[2]: "queued", numbers[3]: "queued"}
    assert set(Message.objects.filter(status="skipped").values_list("skip_reason", flat=True)) == {"opt_out"}


def test_another_accounts_opt_outs_do_not_skip_anyone(other_co, shop, template, simulator_connection):
    numbers = phones(2)
    OptOut.objects.create(account=other_co, phone=numbers[0])
    campaign = launched(create_campaign(shop, template, simulator_connection, numbers))
    plan_campaign(campaign.pk)
    assert not Message.objects.filter(campaign=campaign, status="skipped").exists()


def test_counters_are_set_in_one_go_from_the_planned_rows(acme, shop, template, simulator_connection):
    numbers = phones(5)
    OptOut.objects.create(account=acme, phone=numbers[4])
    imp = create_import(shop, template, numbers)
    imp.recipients.filter(phone=numbers[0]).update(segments=3)
    campaign = launched(create_campaign(shop, template, simulator_connection, recipient_import=imp))

    plan_campaign(campaign.pk)

    campaign.refresh_from_db()
    assert counters(campaign) == {
        "total": 5,
        "queued": 4,
        "sending": 0,
        "submitted": 0,
        "delivered": 0,
        "failed": 0,
        "expired": 0,
        "unknown": 0,
        "skipped": 1,
        "cancelled": 0,
    }
    assert campaign.segments == 3 + 1 + 1 + 1  # the skipped one costs nothing


def test_batches_cover_the_queued_messages_by_id_range(settings, acme, shop, template, simulator_connection):
    settings.SMS_BATCH_SIZE = 3
    numbers = phones(8)
    OptOut.objects.create(account=acme, phone=numbers[1])
    campaign = launched(create_campaign(shop, template, simulator_connection, numbers))

    plan_campaign(campaign.pk)

    queued = list(
        Message.objects.filter(campaign=campaign, status="queued").order_by("id").values_list("id", flat=True)
    )
    batches = list(
        Batch.objects.filter(campaign=campaign)
        .order_by("number")
        .values_list("number", "first_id", "last_id", "status")
    )
    assert batches == [
        (1, queued[0], queued[2], "pending"),
        (2, queued[3], queued[5], "pending"),
        (3, queued[6], queued[6], "pending"),
    ]


def test_planning_twice_changes_nothing(shop, template, simulator_connection):
    campaign = launched(create_campaign(shop, template, simulator_connection, phones(3)))
    plan_campaign(campaign.pk)
    again = plan_campaign(campaign.pk)
    assert again == {"campaign": campaign.pk, "skipped": "planned"}
    assert Message.objects.filter(campaign=campaign).count() == 3
    assert Batch.objects.filter(campaign=campaign).count() == 1
    assert counters(campaign)["total"] == 3


def test_a_campaign_that_is_not_running_is_not_planned(shop, template, simulator_connection):
    campaign = create_campaign(shop, template, simulator_connection, phones(2))
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    assert plan_campaign(campaign.pk)["skipped"] == "cancelled"
    assert not Message.objects.exists()


def test_a_recipient_file_still_importing_fails_the_campaign(shop, template, simulator_connection):
    campaign = launched(create_campaign(shop, template, simulator_connection, phones(2)))
    campaign.recipient_import.status = "running"
    campaign.recipient_import.save(update_fields=["status"])

    plan_campaign(campaign.pk)

    campaign.refresh_from_db()
    assert campaign.status == "failed"
    assert "importing" in campaign.failure_reason
    assert not Message.objects.exists()


def test_a_contact_list_audience_gets_the_shared_variables_and_their_segments(
    acme, shop, template, simulator_connection
):
    contacts = ContactList.objects.create(account=acme, name="VIP")
    for phone in phones(3):
        Contact.objects.create(contact_list=contacts, phone=phone)
    OptOut.objects.create(account=acme, phone=phones(1)[0])
    long_value = "x" * 20
    campaign = launched(
        create_campaign(
            shop,
            template,
            simulator_connection,
            contact_list=contacts,
            shared_variables=[long_value],
        )
    )

    plan_campaign(campaign.pk)

    rows = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("status", "variables", "segments"))
    expected_segments = planning.shared_segments(campaign)
    assert rows == [("skipped", [long_value], expected_segments)] + [("queued", [long_value], expected_segments)] * 2
    assert counters(campaign)["queued"] == 2


def test_the_campaign_text_is_its_template_signed_with_the_campaigns_signature(factories, shop, simulator_connection):
    template = factories.create_template(shop, content="Hi ${1}, your code ${2} expires ${3}.")
    campaign = create_campaign(shop, template, simulator_connection)
    signed = f"【{campaign.signature.name}】Hi Ann, your code X9 expires today."
    assert text.render(planning.campaign_text(campaign), ["Ann", "X9", "today"]) == signed


def test_planning_pushes_the_first_batches_to_the_gateway_after_commit(
    settings, shop, template, simulator_connection, sending_redis, django_capture_on_commit_callbacks
):
    settings.SMS_BATCH_SIZE = 2
    settings.SMS_MAX_PUSHED_BATCHES = 2
    campaign = launched(create_campaign(shop, template, simulator_connection, phones(7)))

    with django_capture_on_commit_callbacks(execute=True):
        plan_campaign(campaign.pk)

    from campaigns.dispatch import queue_key

    jobs = sending_redis.lrange(queue_key(simulator_connection.pk), 0, -1)
    first_two = list(
        Batch.objects.filter(campaign=campaign, number__lte=2).order_by("number").values_list("pk", flat=True)
    )
    assert sorted(jobs) == sorted(f"{campaign.pk}:{b}".encode() for b in first_two)
    assert list(Batch.objects.filter(campaign=campaign).order_by("number").values_list("status", flat=True)) == [
        "pushed",
        "pushed",
        "pending",
        "pending",
    ]


def test_one_template_with_shared_values_sends_them_to_every_number_of_a_file(shop, template, simulator_connection):
    rows = [("+8613800000001", ["from-file"]), ("+8613800000002", ["from-file"])]
    campaign = launched(
        create_campaign(shop, template, simulator_connection, rows, mode="template", shared_variables=["SHARED1"])
    )

    plan_campaign(campaign.pk)

    assert list(Message.objects.filter(campaign=campaign).values_list("variables", flat=True)) == [
        ["SHARED1"],
        ["SHARED1"],
    ]
    assert set(Message.objects.filter(campaign=campaign).values_list("segments", flat=True)) == {
        planning.shared_segments(campaign)
    }


def test_per_recipient_mode_keeps_each_rows_values(shop, template, simulator_connection):
    rows = [("+8613800000001", ["A1"]), ("+8613800000002", ["B2"])]
    campaign = launched(
        create_campaign(shop, template, simulator_connection, rows, mode="diff", shared_variables=["X"])
    )

    plan_campaign(campaign.pk)

    assert list(Message.objects.filter(campaign=campaign).order_by("id").values_list("variables", flat=True)) == [
        ["A1"],
        ["B2"],
    ]


def test_a_template_without_variables_counts_its_segments_even_for_a_numbers_only_file(
    factories, shop, simulator_connection
):
    from campaigns.models import Recipient

    fixed = factories.create_template(shop, name="fixed", content="Store closed today.", variables=[])
    campaign = launched(create_campaign(shop, fixed, simulator_connection, phones(2)))
    Recipient.objects.filter(recipient_import=campaign.recipient_import).update(
        segments=0
    )  # imported without a template

    plan_campaign(campaign.pk)

    assert set(Message.objects.filter(campaign=campaign).values_list("segments", flat=True)) == {1}
    campaign.refresh_from_db()
    assert campaign.segments == 2


def test_a_campaign_whose_template_lost_its_approval_fails_instead_of_sending(shop, template, simulator_connection):
    campaign = launched(create_campaign(shop, template, simulator_connection, phones(2)))
    template.deactivate(None, "carrier rule change")

    result = plan_campaign(campaign.pk)

    campaign.refresh_from_db()
    assert (campaign.status, campaign.failure_reason) == ("failed", "The template is no longer active.")
    assert result["failed"] == "The template is no longer active."
    assert not Message.objects.filter(campaign=campaign).exists()


def test_a_campaign_whose_template_has_a_variable_of_an_unknown_attribute_fails_with_that_reason(
    shop, template, simulator_connection
):
    campaign = launched(create_campaign(shop, template, simulator_connection, phones(2)))
    template.variables.update(attribute="BOGUS")  # written around the forms

    result = plan_campaign(campaign.pk)

    campaign.refresh_from_db()
    assert campaign.status == "failed" and result["failed"] == planning.UNKNOWN_ATTRIBUTE_REASON
    assert campaign.failure_reason.startswith("A variable of the template has an unknown attribute")
    assert not Message.objects.filter(campaign=campaign).exists()


def test_a_campaign_of_a_suspended_application_fails_instead_of_sending(shop, template, simulator_connection):
    shop.launch()
    shop.suspend()
    campaign = launched(create_campaign(shop, template, simulator_connection, phones(2)))

    plan_campaign(campaign.pk)

    campaign.refresh_from_db()
    assert (campaign.status, campaign.failure_reason) == ("failed", "The application is suspended.")
