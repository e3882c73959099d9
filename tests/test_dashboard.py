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

    for name in ["application_list", "templates_app:qualification_list", "templates_app:signature_list",
                 "templates_app:template_list", "templates_app:contact_list"]:
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


def test_the_query_count_does_not_grow_with_applications(alice_client, acme, django_assert_max_num_queries):
    for n in range(20):
        app = factories.create_application(acme, f"App {n}")
        signature = factories.create_signature(app, name=f"Sig{n}")
        factories.create_template(app, signature=signature)
    # session, user, membership, applications, three status groupings
    with django_assert_max_num_queries(7):
        response = alice_client.get(reverse("dashboard"))
    assert len(response.context["applications"]) == 20
