"""Several gateway processes sharing a connection's binds (run_gateway --processes): together they
bind no more than the connection allows, and each message is still sent once."""

import pytest

from campaigns.gateway import Gateway
from campaigns.management.commands.bench_send import copy_recipients
from campaigns.models import Campaign, Message, ProviderConnection, RecipientImport
from tests.sending_helpers import counters, create_connection, gateway, processes, simulator, wait_for, worker
from tests.test_sending_faults import _fresh_celery_pools, redis_keys  # noqa: F401 (fixtures)


def shares(connection, count):
    return [Gateway(db=object(), share=(number, count)).binds_for(connection) for number in range(count)]


def test_the_processes_split_the_binds_and_together_bind_no_more_than_the_connection_allows():
    smpp = ProviderConnection(kind=ProviderConnection.Kind.SMPP, max_binds=5)
    assert shares(smpp, 1) == [5]
    assert shares(smpp, 2) == [3, 2]
    assert shares(smpp, 3) == [2, 2, 1]


def test_a_process_left_without_a_bind_does_not_serve_the_connection_and_http_goes_to_the_first():
    assert shares(ProviderConnection(kind=ProviderConnection.Kind.SMPP, max_binds=1), 2) == [1, 0]
    assert shares(ProviderConnection(kind=ProviderConnection.Kind.HTTP, max_binds=4), 3) == [1, 0, 0]


RECIPIENTS = 4000


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_gateway_processes_share_the_binds_and_send_each_message_once(
    postgres_url,
    redis_url,
    redis_keys,
    shop,
    factories,
    tmp_path,  # noqa: F811
):
    template = factories.create_template(shop, content="Your order ${1} has shipped.")
    with simulator(tmp_path, "--dlr-delay", "0.2") as smsc:
        connection = create_connection(port=smsc.port, window=64, max_binds=2, tps=0)
        recipient_import = RecipientImport.objects.create(
            account=shop.account, application=shop, template=template, original_name="shared.csv"
        )
        copy_recipients(recipient_import, RECIPIENTS)
        campaign = Campaign.objects.create(
            account=shop.account, application=shop, signature=template.signature, template=template,
            connection=connection, name="Shared binds", recipient_import=recipient_import,
        )  # fmt: skip
        with (
            worker(postgres_url, redis_url, tmp_path, concurrency=1) as celery,
            gateway(postgres_url, redis_url, tmp_path, "--processes", "2", gateway_id="shared") as gw,
        ):
            running = processes(simulator=smsc, worker=celery, gateway=gw)
            wait_for(lambda: smsc.stats()["bound"] == 2, 60, "both processes' binds", running)
            campaign.launch()
            wait_for(lambda: counters(campaign)["delivered"] == RECIPIENTS, 120, "every receipt", running)
            stats = smsc.stats()
        log = gw.log_path.read_text()
    assert stats["binds"] == 2, "one bind each, the connection's two, never more"
    assert stats["duplicates"] == 0 and stats["duplicate_submits"] == 0
    assert len(stats["per_destination"]) == RECIPIENTS and set(stats["per_destination"].values()) == {1}
    assert "gateway shared-0 started" in log and "gateway shared-1 started" in log
    assert not Message.objects.filter(campaign=campaign).exclude(status=Message.Status.DELIVERED).exists()
