"""The account's audit page in the console: operators only, the account's own entries, newest first,
paginated in a fixed number of queries."""

from django.urls import reverse

from smsconsole.models import AuditLog, audit


def url(**params):
    return reverse("accounts:audit_log") + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_an_operator_sees_the_accounts_entries_with_what_changed(alice_client, alice, shop):
    audit(alice, "edit", shop, before={"name": "Shop"}, after={"name": "Shop 2"})
    html = alice_client.get(url()).content.decode()
    assert "Edited" in html and "Shop → Shop 2" in html and "alice" in html


def test_exports_show_who_what_and_how_many(alice_client, alice, acme):
    audit(alice, "export", acme, after={"what": "opt_outs", "rows": 1234, "format": "csv", "masked": False})
    html = alice_client.get(url(action="export")).content.decode()
    assert "Exported" in html and "1234" in html and "opt_outs" in html


def test_a_read_only_member_cannot_open_it(client, bob):
    client.force_login(bob)
    assert client.get(url()).status_code == 403
    assert reverse("accounts:audit_log") not in client.get(reverse("dashboard")).content.decode()


def test_another_accounts_entries_are_not_listed(alice_client, charlie, other_co):
    audit(charlie, "export", other_co, after={"what": "opt_outs", "rows": 1, "format": "csv", "masked": False})
    response = alice_client.get(url())
    assert list(response.context["page"]) == []


def test_the_filter_shows_one_action_including_noun_prefixed_ones(alice_client, alice, shop, acme):
    audit(alice, "template.submit", shop)
    audit(alice, "submit", shop)
    audit(alice, "export", acme)
    response = alice_client.get(url(action="submit"))
    assert sorted(entry.action for entry in response.context["page"]) == ["submit", "template.submit"]
    assert len(alice_client.get(url(action="not-an-action")).context["page"]) == 3


def test_pages_of_fifty_newest_first_in_a_fixed_number_of_queries(
    alice_client, alice, bob, acme, django_assert_num_queries
):
    AuditLog.objects.bulk_create(
        AuditLog(
            account=acme,
            actor=alice if i % 2 else bob,
            action="export",
            object_type="account",
            object_id=str(acme.pk),
            after={"rows": i},
        )
        for i in range(120)
    )
    alice_client.get(url())  # the session and the membership warm up
    with django_assert_num_queries(5):
        first = alice_client.get(url())
    page = first.context["page"]
    assert len(page) == 50 and page.paginator.num_pages == 3
    assert [entry.after["rows"] for entry in page][:2] == [119, 118]
    with django_assert_num_queries(5):
        last = alice_client.get(url(page=3))
    assert len(last.context["page"]) == 20
