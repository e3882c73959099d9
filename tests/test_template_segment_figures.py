"""The review desk and the console show one segment figure for a template (issue 9)."""

from django.test import Client
from django.urls import reverse

# 【Acme】 (6) + 56 characters + the variable at its maximum of 20 = 82: two segments. Counting the
# literal "${1}" instead gave the reviewer 66 characters and one segment.
CONTENT = "通" * 56 + "${1}"
FIGURE = "82 characters, 2 segment(s), UCS-2; variables counted at their maximum length."


def signed_in(user, factories):
    client = Client()
    assert client.login(username=user.username, password=factories.PASSWORD)
    return client


def test_the_reviewer_and_the_operator_see_the_same_segments_for_a_template_with_a_variable(
    factories, shop, alice, rita
):
    template = factories.create_template(shop, content=CONTENT, variables=[("TEXT", 20)], status="pending_review")

    admin_page = signed_in(rita, factories).get(reverse("admin:templates_app_template_change", args=[template.pk]))
    console_page = signed_in(alice, factories).get(reverse("templates_app:template_detail", args=[template.pk]))

    assert FIGURE in admin_page.content.decode()
    assert FIGURE in console_page.content.decode()


def test_the_review_queue_counts_each_template_at_its_variables_maximum_length(factories, shop, rita):
    factories.create_template(shop, content=CONTENT, variables=[("TEXT", 20)], status="pending_review")

    queue = signed_in(rita, factories).get(reverse("admin:templates_app_template_changelist"))

    assert FIGURE in queue.content.decode()
