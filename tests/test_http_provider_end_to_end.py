"""The HTTP provider end to end, against a second instance of the product on loopback.

Instance B has its own database, Redis prefix, Celery queue, web server, worker and gateway, an
application launched with its app key and secret, and the SMSC simulator behind it. Instance A
(this test's database, with a web server, worker and gateway of its own) sends a campaign on an
HTTP connection pointing at B: A's gateway calls B's /sms/batchSendSms/v1 signed with X-WSSE, B
sends through the simulator, B's status reports come back to A's statusCallback URL, and A's
messages end delivered. The simulator counts what reached it, so a duplicate would show there.
"""

import uuid
from io import StringIO

import pytest
from django.core.management import call_command

from campaigns import lifecycle
from campaigns.models import Campaign, Message, PendingReceipt, ProviderConnection, RemoteTemplate
from tests import second_instance
from tests.sending_helpers import (
    SIM_PASSWORD,
    SIM_SYSTEM_ID,
    counters,
    database_url_for_children,
    gateway,
    rows_by_status,
    sending_redis,  # noqa: F401 (fixture)
    simulator,
    wait_for,
    worker,
)

RECIPIENTS = 120
CONTENT = "Your order ${1} has shipped."

SET_UP_B = """
from io import StringIO
from django.core.management import call_command
from tests import factories
from tests.sending_helpers import fund

account = factories.create_account("Relay Co")
app = factories.create_application(account, "Relay")
app.launch()
signature = factories.create_signature(app, name="Relay", type="notification")
template = factories.create_template(app, signature=signature, content=%(content)r, variables=[("CHARDIGIT", 20)])
fund(account)
call_command("add_smpp_connection", "simulator", "--host", "127.0.0.1", "--port", "%(port)s",
             "--system-id", %(system_id)r, "--password", %(password)r, "--tps", "0", stdout=StringIO())
print(json.dumps({"app_key": app.app_key, "app_secret": app.app_secret, "channel": signature.channel_number,
                  "template": template.pk}))
"""

COUNT_B = """
from campaigns.models import Message
from django.db.models import Count
print(json.dumps(dict(Message.objects.values_list("status").annotate(n=Count("id")))))
"""


@pytest.fixture
def order_template(factories, shop):
    return factories.create_template(shop, content=CONTENT, variables=[("CHARDIGIT", 20)])


@pytest.fixture
def recipients_file(tmp_path):
    # Two values, so A's requests group the numbers by value (batchSendSms has one templateParas).
    path = tmp_path / "recipients.csv"
    path.write_text("phone,order\n" + "".join(f"1371{n:07d},A{n % 2}\n" for n in range(RECIPIENTS)))
    return path


def read(path):
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def send(shop, template, path):
    out = StringIO()
    call_command("send_campaign", "--application", shop.app_key, "--template", str(template.pk), "--file", str(path),
                 "--connection", "instance-b", stdout=out, stderr=StringIO())  # fmt: skip
    return int(out.getvalue().strip().splitlines()[-1])


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_campaign_on_an_http_connection_goes_out_through_a_second_instance_and_comes_back_delivered(
    postgres_url, redis_url, sending_redis, settings, tmp_path, shop, order_template, recipients_file
):
    run = uuid.uuid4().hex[:8]
    with simulator(tmp_path, "--dlr-delay", "0.05") as smsc, second_instance.database(postgres_url, "b") as b_url:
        b_env = second_instance.instance_environment(
            postgres_url, redis_url, database_url=b_url, prefix=f"{settings.SMS_REDIS_PREFIX}-b", queue=f"b-{run}"
        )
        remote = second_instance.run_script(
            b_env, SET_UP_B % dict(content=CONTENT, port=smsc.port, system_id=SIM_SYSTEM_ID, password=SIM_PASSWORD)
        )
        a_env = second_instance.instance_environment(
            postgres_url, redis_url, database_url=database_url_for_children(postgres_url), queue=f"a-{run}"
        )
        with (
            second_instance.web(b_env, tmp_path, "b-web") as b_web,
            second_instance.worker(b_env, tmp_path, "b-worker") as b_worker,
            second_instance.gateway(b_env, tmp_path, "b-gateway") as b_gateway,
            second_instance.web(a_env, tmp_path, "a-web") as a_web,
        ):
            connection = ProviderConnection(
                name="instance-b",
                kind=ProviderConnection.Kind.HTTP,
                base_url=b_web.url,
                app_key=remote["app_key"],
                source_rule=ProviderConnection.SourceRule.FIXED,
                source_address=remote["channel"],
                tps=0,
                window=4,
            )
            connection.app_secret = remote["app_secret"]
            connection.save()
            RemoteTemplate.objects.create(
                connection=connection, template=order_template, remote_template_id=str(remote["template"])
            )
            with (
                worker(postgres_url, redis_url, tmp_path, name="a-worker") as a_worker,
                gateway(postgres_url, redis_url, tmp_path, name="a-gateway", CONSOLE_URL=a_web.url + "/") as a_gateway,
            ):
                processes = [
                    ("simulator", smsc.process, smsc.log_path),
                    ("b-web", b_web, b_web.log_path),
                    ("b-worker", b_worker, b_worker.log_path),
                    ("b-gateway", b_gateway, b_gateway.log_path),
                    ("a-web", a_web, a_web.log_path),
                    ("a-worker", a_worker, a_worker.log_path),
                    ("a-gateway", a_gateway, a_gateway.log_path),
                ]
                # Seven processes start on a small machine: each says it is ready before the send.
                for what, log_path, line in [
                    ("B's gateway to bind to the simulator", b_gateway.log_path, "bound as transceiver"),
                    ("B's worker", b_worker.log_path, " ready."),
                    ("A's worker", a_worker.log_path, " ready."),
                    ("A's gateway to serve the HTTP connection", a_gateway.log_path, "serving instance-b"),
                ]:
                    wait_for(lambda log_path=log_path, line=line: line in read(log_path), 120, what, processes)
                campaign_id = send(shop, order_template, recipients_file)
                wait_for(
                    lambda: Campaign.objects.get(pk=campaign_id).status == "completed",
                    120,
                    "A's campaign to be handed over to B",
                    processes,
                )
                wait_for(
                    lambda: Campaign.objects.get(pk=campaign_id).delivered == RECIPIENTS,
                    120,
                    "B's status reports to deliver every message of A",
                    processes,
                )
        b_rows = second_instance.run_script(b_env, COUNT_B)
        stats = smsc.stats()

    campaign = Campaign.objects.get(pk=campaign_id)
    rows = rows_by_status(campaign)
    assert rows["delivered"] == RECIPIENTS
    assert {name: value for name, value in counters(campaign).items() if name != "total"} == {
        name: rows.get(name, 0) for name in Campaign.COUNTERS
    }
    assert lifecycle.reconcile(campaign.pk) == {}
    assert not PendingReceipt.objects.exists()
    # Each number reached the SMSC once, through B, which delivered exactly A's messages.
    assert stats["submits"] == RECIPIENTS and stats["duplicate_submits"] == 0
    assert len(stats["per_destination"]) == RECIPIENTS and set(stats["per_destination"].values()) == {1}
    assert b_rows == {"delivered": RECIPIENTS}
    # A's provider ids are B's smsMsgIds, one per message.
    provider_ids = set(Message.objects.filter(campaign=campaign).values_list("provider_id", flat=True))
    assert len(provider_ids) == RECIPIENTS and None not in provider_ids
