"""The account's opt-out keywords: the rule (sms.optout) and the operator's form beside the opt-out
list, whose list replaces the defaults."""

import pytest
from django.urls import reverse

from sms import optout
from smsconsole.models import AuditLog

URL = reverse("campaigns:opt_out_keywords")


@pytest.mark.parametrize(
    "text", ["R", "r", " T ", "TD.", "n", "退订", "退订。", "STOP", "stop!", "ＳＴＯＰ", "Unsubscribe"]
)
def test_the_defaults_match_bare_keywords_whatever_their_case_width_and_trimming(text):
    assert optout.is_opt_out(text)


@pytest.mark.parametrize("text", ["", "Rx", "R R", "stop it", "请退订", "Thanks"])
def test_a_reply_that_only_contains_a_keyword_does_not_opt_out(text):
    assert not optout.is_opt_out(text)


def test_an_own_list_replaces_the_defaults():
    assert optout.is_opt_out("quit", ["QUIT"]) and not optout.is_opt_out("R", ["QUIT"])
    assert optout.is_opt_out("R", ["", "  "])  # nothing usable: the defaults


def test_typed_keywords_are_split_on_commas_and_lines_and_deduplicated():
    assert optout.parse_keywords("QUIT, 取消，quit\nopt out, ") == ["QUIT", "取消", "opt out"]


def test_the_opt_out_page_names_the_keywords_in_force(alice_client, acme):
    body = alice_client.get(reverse("campaigns:opt_out_list")).content.decode()
    assert "R, T, TD, N, 退订, STOP, UNSUBSCRIBE" in body and "the defaults" in body and URL in body

    acme.opt_out_keywords = ["QUIT"]
    acme.save(update_fields=["opt_out_keywords"])
    body = alice_client.get(reverse("campaigns:opt_out_list")).content.decode()
    assert "Replies that opt out: QUIT" in body and "the defaults" not in body


def test_an_operator_sets_the_accounts_keywords_and_the_change_is_audited(alice_client, acme):
    response = alice_client.post(URL, {"keywords": "QUIT, 取消"})

    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.opt_out_keywords == ["QUIT", "取消"]
    entry = AuditLog.objects.get(action="change_opt_out_keywords")
    assert (entry.before, entry.after) == ({"opt_out_keywords": []}, {"opt_out_keywords": ["QUIT", "取消"]})


def test_an_empty_list_restores_the_defaults(alice_client, acme):
    acme.opt_out_keywords = ["QUIT"]
    acme.save(update_fields=["opt_out_keywords"])

    assert alice_client.get(URL).context["form"]["keywords"].value() == "QUIT"
    alice_client.post(URL, {"keywords": " "})

    acme.refresh_from_db()
    assert acme.opt_out_keywords == []


def test_a_keyword_too_long_is_refused_and_nothing_changes(alice_client, acme):
    response = alice_client.post(URL, {"keywords": "R, " + "x" * 21})

    assert response.status_code == 200 and "at most 20 characters" in response.content.decode()
    acme.refresh_from_db()
    assert acme.opt_out_keywords == []


def test_read_only_members_cannot_change_them(client, bob, acme):
    client.force_login(bob)

    assert client.post(URL, {"keywords": "QUIT"}).status_code == 403
    assert (
        "Change"
        not in client.get(reverse("campaigns:opt_out_list")).content.decode().split("opt-out-keywords")[1][:300]
    )


def test_another_account_changes_only_its_own(client, charlie, acme, other_co):
    client.force_login(charlie)
    client.post(URL, {"keywords": "QUIT"})

    acme.refresh_from_db()
    other_co.refresh_from_db()
    assert acme.opt_out_keywords == [] and other_co.opt_out_keywords == ["QUIT"]


def test_the_form_reads_in_chinese(alice_client):
    alice_client.cookies["django_language"] = "zh-hans"

    body = alice_client.get(URL).content.decode()

    assert "退订关键字" in body and "用逗号分隔" in body
