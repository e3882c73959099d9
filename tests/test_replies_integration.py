"""Replies through real processes: the SMSC simulator delivers handsets' replies (injected with
`manage.py simulate_reply`) to the gateway, which stores them, opts out the numbers that replied
with a keyword, and owes the application a push that a real Celery worker delivers to a real HTTP
receiver. The next campaign to those numbers skips them as opted out.
"""

from io import StringIO

import pytest
from django.core.management import call_command

from campaigns.models import Campaign, Message, OptOut, Push, Reply
from tests.push_receiver import Receiver
from tests.sending_helpers import (
    add_simulator_connection,
    order_template,  # noqa: F401 (fixture)
    recipients_file,
    send_file,
    sending_redis,  # noqa: F401 (fixture)
    simulator,
    wait_for,
    worker_and_gateway,
)

RECIPIENTS = 20
# The first five reply with an opt-out keyword as handsets type them; the sixth just answers.
REPLIES = ["R", "退订", " stop ", "td", "Unsubscribe", "Thanks, received"]


def finished(campaign_id):
    campaign = Campaign.objects.get(pk=campaign_id)
    return campaign.status == "completed" and campaign.delivered + campaign.failed + campaign.skipped == RECIPIENTS


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_replies_with_opt_out_keywords_stop_the_next_campaign_to_those_numbers_and_each_reply_is_pushed_once(
    postgres_url, redis_url, sending_redis, tmp_path, shop, order_template
):
    signature = order_template.signature
    recipients = recipients_file(tmp_path, "1390", RECIPIENTS)
    with simulator(tmp_path) as smsc, Receiver() as receiver:
        shop.upstream_url = receiver.url
        shop.save(update_fields=["upstream_url"])
        add_simulator_connection(smsc)
        # The gateway wakes the push task on the test worker's queue.
        with worker_and_gateway(postgres_url, redis_url, tmp_path, smsc) as processes:
            first = send_file(shop, order_template, recipients)
            wait_for(lambda: finished(first), 60, "the first campaign", processes)

            for n, text in enumerate(REPLIES):
                # No --to: the reply goes to the channel number that last sent to the number.
                call_command("simulate_reply", f"1390{n:07d}", text, "--control-port", str(smsc.control_port),
                             stdout=StringIO())  # fmt: skip
            wait_for(lambda: Reply.objects.count() == len(REPLIES), 30, "the replies", processes)
            wait_for(lambda: len(receiver.delivered()) == len(REPLIES), 30, "the pushes", processes)

            second = send_file(shop, order_template, recipients)
            wait_for(lambda: finished(second), 60, "the second campaign", processes)

        opted_out = [f"+861390{n:07d}" for n in range(5)]
        assert sorted(OptOut.objects.filter(account=shop.account, source="reply").values_list("phone", flat=True)) == (
            opted_out
        )
        replies = list(Reply.objects.order_by("phone"))
        assert {(r.signature_id, r.application_id, r.account_id, r.campaign_id, r.destination) for r in replies} == {
            (signature.pk, shop.pk, shop.account_id, first, signature.channel_number)
        }
        assert [r.opted_out for r in replies] == [True] * 5 + [False]

        skipped = Message.objects.filter(campaign_id=second, status="skipped")
        assert sorted(skipped.values_list("phone", flat=True)) == opted_out
        assert set(skipped.values_list("skip_reason", flat=True)) == {"opt_out"}
        per_destination = smsc.stats()["per_destination"]
        assert all(per_destination[number.lstrip("+")] == 1 for number in opted_out)
        assert per_destination["8613900000005"] == 2

        pushed = sorted(receiver.delivered(), key=lambda body: body["from"])
        assert [(body["from"], body["to"], body["body"]) for body in pushed] == [
            (f"+861390{n:07d}", signature.channel_number, text) for n, text in enumerate(REPLIES)
        ]
        assert {body["smsMsgId"] for body in pushed} == {str(r.mo_id) for r in replies}
        assert len(receiver.requests) == len(REPLIES)  # exactly once each
        assert set(Push.objects.values_list("status", "attempts")) == {("delivered", 1)}
