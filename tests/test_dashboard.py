from django.urls import reverse

from tests import factories


def counts(response, title):
    for section_title, _url_name, rows in response.context["sections"]:
        if section_title == title:
            return {value: n for value, _label, n in rows if n}
    raise AssertionError(f"no section {title}")


def test_it_counts_qualifications_signatures_and_templates_by_status(alice_client, acme, shop):
    factories.create_qualification(acme, name="pending", status="pending_review")
    factories.create_qualification(acme, name="rejected", status="rejected")
    signature = factories.create_signature(shop, name="Acme")  # also one approved qualification
    factories.create_signature(shop, name="Waiting", status="pending_review")
    factories.create_template(shop, signature=signature, name="a")
    factories.create_template(shop, signature=signature, name="b", status="draft")
    factories.create_template(shop, signature=signature, name="c", status="draft")

    response = alice_client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert counts(response, "Qualifications") == {"pending_review": 1, "rejected": 1, "approved": 2}
    assert counts(response, "Signatures") == {"approved": 1, "pending_review": 1}
    assert counts(response, "Templates") == {"active": 1, "draft": 2}
    [app] = response.context["applications"]
    assert (app.name, app.signature_count, app.template_count) == ("Shop", 2, 3)


def test_it_links_to_every_section(alice_client, shop):
    html = alice_client.get(reverse("dashboard")).content.decode()

    for name in [
        "application_list",
        "templates_app:qualification_list",
        "templates_app:signature_list",
        "templates_app:template_list",
        "templates_app:contact_list",
    ]:
        assert f'href="{reverse(name)}"' in html
    assert f'href="{reverse("application_detail", args=[shop.pk])}"' in html


def test_it_shows_nothing_of_another_account(client, charlie, acme, shop):
    factories.create_qualification(acme)
    factories.create_template(shop)
    client.force_login(charlie)

    response = client.get(reverse("dashboard"))

    assert list(response.context["applications"]) == []
    assert counts(response, "Qualifications") == {}
    assert counts(response, "Signatures") == {}
    assert counts(response, "Templates") == {}
    assert "Shop" not in response.content.decode()


def test_a_read_only_member_sees_the_dashboard_without_create_button(client, bob, shop):
    client.force_login(bob)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert reverse("application_create") not in response.content.decode()


def test_staff_without_an_account_are_pointed_to_the_admin(client, rita):
    client.force_login(rita)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert f'href="{reverse("admin:index")}"' in response.content.decode()


def test_the_query_count_does_not_grow_with_applications_or_campaigns(
    alice_client, acme, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            alice_client.get(reverse("dashboard"))
        return len(captured)

    factories.create_application(acme, "App 0")
    few = queries()
    for n in range(1, 20):
        app = factories.create_application(acme, f"App {n}")
        signature = factories.create_signature(app, name=f"Sig{n}")
        factories.create_template(app, signature=signature)
    assert queries() == few
    # session, user, membership, applications, three status groupings, three rejected counts,
    # paused/failed campaigns, failed imports, campaigns sending, campaigns finished today
    with django_assert_max_num_queries(16):
        response = alice_client.get(reverse("dashboard"))
    assert len(response.context["applications"]) == 20


def test_it_shows_what_is_sending_what_finished_today_and_what_needs_attention(alice_client, acme, shop):
    from django.utils import timezone

    from campaigns.models import Campaign
    from tests.campaign_helpers import create_completed_import, create_connection, create_order_setup

    connection = create_connection()
    signature, template = create_order_setup(factories, shop)
    audience = create_completed_import(acme, shop, template)

    def campaign(name, status, **fields):
        return Campaign.objects.create(
            account=acme,
            application=shop,
            signature=signature,
            template=template,
            connection=connection,
            recipient_import=audience,
            name=name,
            status=status,
            **fields,
        )

    campaign("Running", "running", total=10, queued=4, started_at=timezone.now())
    campaign("Done", "completed", total=5, delivered=4, failed=1, finished_at=timezone.now())
    campaign("Broken", "failed", finished_at=timezone.now())
    factories.create_template(
        shop, signature=signature, name="No", status="rejected", reason_code="tpl_other", reason_text="x"
    )
    html = alice_client.get(reverse("dashboard")).content.decode()
    sending = html[html.index('id="sending-now"') : html.index('id="finished-today"')]
    assert "Running" in sending and "60% of 10" in sending
    finished = html[html.index('id="finished-today"') :]
    assert "Done" in finished and "Broken" in finished
    attention = html[html.index('id="attention"') : html.index('id="sending-now"')]
    assert "Templates were rejected" in attention and "Campaigns failed in the last 7 days." in attention


def test_the_carrier_states_count_when_present_and_ask_for_attention(alice_client, acme, shop):
    factories.create_signature(shop, name="Refused", status="filing_failed")
    factories.create_signature(shop, name="Old", status="legacy_unqualified")
    factories.create_signature(shop, name="Lapsed", status="to_be_activated")

    response = alice_client.get(reverse("dashboard"))

    rows = next(rows for title, _url, rows in response.context["sections"] if title == "Signatures")
    assert [value for value, _label, _n in rows] == [
        "pending_review",
        "rejected",
        "filing_failed",
        "approved",
        "legacy_unqualified",
        "to_be_activated",
    ]
    html = response.content.decode()
    attention = html[html.index('id="attention"') : html.index('id="sending-now"')]
    assert "Signatures were rejected by the carrier" in attention
    assert "Legacy signatures need their owner&#x27;s qualification." in attention
    assert "Signatures wait for activation after arrears." in attention and "?status=to_be_activated" in attention
