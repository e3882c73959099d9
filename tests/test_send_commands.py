import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from campaigns import dispatch
from campaigns.models import Campaign, Message, ProviderConnection
from tests.sending_helpers import counters, create_campaign, create_connection, phones, sending_redis  # noqa: F401


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Your order ${1} has shipped.", variables=[("CHARDIGIT", 20)])


@pytest.fixture
def recipients_file(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("phone,order\n13800000001,A1\n13800000002,A2\nnot-a-number,A3\n")
    return path


def test_add_smpp_connection_creates_it_with_an_encrypted_password(db):
    out, _ = run(
        "add_smpp_connection",
        "carrier",
        "--host",
        "10.0.0.5",
        "--port",
        "2775",
        "--system-id",
        "acme",
        "--password",
        "s3cret",
        "--tps",
        "50",
        "--window",
        "100",
        "--binds",
        "4",
    )
    connection = ProviderConnection.objects.get(name="carrier")
    assert (
        connection.host,
        connection.port,
        connection.system_id,
        connection.tps,
        connection.window,
        connection.max_binds,
    ) == ("10.0.0.5", 2775, "acme", 50, 100, 4)
    assert connection.password == "s3cret"
    assert "s3cret" not in connection.password_encrypted
    assert out.startswith("Created connection carrier")


def test_add_smpp_connection_updates_an_existing_name_and_keeps_what_is_not_given(db):
    create_connection("carrier", tps=50, window=100)
    out, _ = run(
        "add_smpp_connection",
        "carrier",
        "--host",
        "127.0.0.1",
        "--port",
        "2776",
        "--system-id",
        "x",
        "--password",
        "new",
    )
    connection = ProviderConnection.objects.get(name="carrier")
    assert ProviderConnection.objects.count() == 1
    assert (connection.port, connection.system_id, connection.password, connection.tps, connection.window) == (
        2776,
        "x",
        "new",
        50,
        100,
    )
    assert out.startswith("Updated connection carrier")


def test_send_campaign_imports_the_file_launches_and_prints_the_id_last(
    shop, template, recipients_file, sending_redis, django_capture_on_commit_callbacks
):
    connection = create_connection()
    with django_capture_on_commit_callbacks(execute=True):
        out, err = run(
            "send_campaign",
            "--application",
            shop.app_key,
            "--template",
            str(template.pk),
            "--file",
            str(recipients_file),
            "--connection",
            "simulator",
        )

    campaign = Campaign.objects.get(pk=int(out.strip().splitlines()[-1]))
    assert campaign.status == "running"
    assert (campaign.signature, campaign.template, campaign.connection, campaign.account) == (
        template.signature,
        template,
        connection,
        shop.account,
    )
    assert sorted(Message.objects.filter(campaign=campaign).values_list("phone", "variables")) == [
        ("+8613800000001", ["A1"]),
        ("+8613800000002", ["A2"]),
    ]
    assert counters(campaign)["queued"] == 2
    assert sending_redis.llen(dispatch.queue_key(connection.pk)) == 1
    assert "1 rows rejected" in err


def test_send_campaign_finds_the_application_by_name_and_uses_the_default_connection(
    settings, shop, template, recipients_file, sending_redis, django_capture_on_commit_callbacks
):
    settings.SMS_DEFAULT_CONNECTION = "simulator"
    create_connection()
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run(
            "send_campaign", "--application", "Shop", "--template", str(template.pk), "--file", str(recipients_file)
        )
    assert Campaign.objects.get(pk=int(out.split()[-1])).connection.name == "simulator"


def test_send_campaign_at_a_time_schedules_it(shop, template, recipients_file):
    create_connection()
    at = (timezone.localtime() + timedelta(days=1)).replace(microsecond=0, tzinfo=None).isoformat()
    out, _ = run(
        "send_campaign",
        "--application",
        shop.app_key,
        "--template",
        str(template.pk),
        "--file",
        str(recipients_file),
        "--at",
        at,
    )
    campaign = Campaign.objects.get(pk=int(out.split()[-1]))
    assert campaign.status == "scheduled"
    assert timezone.localtime(campaign.scheduled_at).replace(tzinfo=None).isoformat() == at
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"application": "Nope"}, "No application"),
        ({"connection": "nowhere"}, "No provider connection"),
        ({"template": "999999"}, "has no template"),
        ({"at": "tomorrow"}, "not an ISO time"),
    ],
)
def test_send_campaign_refuses_bad_arguments(shop, template, recipients_file, change, message):
    create_connection()
    args = {
        "application": shop.app_key,
        "template": str(template.pk),
        "file": str(recipients_file),
        "connection": "simulator",
    } | change
    argv = [part for name, value in args.items() for part in (f"--{name}", value)]
    with pytest.raises(CommandError, match=message):
        run("send_campaign", *argv)
    assert not Campaign.objects.exists()


def test_send_campaign_refuses_a_template_of_another_account(factories, other_co, shop, recipients_file):
    create_connection()
    foreign = factories.create_template(factories.create_application(other_co, "Other"))
    with pytest.raises(CommandError, match="has no template"):
        run(
            "send_campaign",
            "--application",
            shop.app_key,
            "--template",
            str(foreign.pk),
            "--file",
            str(recipients_file),
        )


def test_send_campaign_refuses_a_file_without_usable_recipients(shop, template, tmp_path):
    create_connection()
    path = tmp_path / "bad.csv"
    path.write_text("12345,A1\n")
    with pytest.raises(CommandError, match="No usable recipient"):
        run("send_campaign", "--application", shop.app_key, "--template", str(template.pk), "--file", str(path))


def test_campaign_status_prints_the_status_and_every_counter_as_json(shop, template):
    campaign = create_campaign(shop, template, create_connection(), phones(2))
    Campaign.objects.filter(pk=campaign.pk).update(status="running", total=2, queued=1, submitted=1, segments=2)
    out, _ = run("campaign_status", str(campaign.pk), "--json")
    data = json.loads(out)
    assert data["id"] == campaign.pk and data["status"] == "running"
    assert {name: data[name] for name in ("total", *Campaign.COUNTERS, "segments")} == {
        "total": 2,
        "queued": 1,
        "sending": 0,
        "submitted": 1,
        "delivered": 0,
        "failed": 0,
        "expired": 0,
        "unknown": 0,
        "skipped": 0,
        "cancelled": 0,
        "segments": 2,
    }


def test_campaign_status_of_an_unknown_campaign_is_an_error(db):
    with pytest.raises(CommandError, match="No campaign 4242"):
        run("campaign_status", "4242", "--json")


def test_seed_demo_creates_the_simulator_connection_once(db, monkeypatch):
    monkeypatch.setenv("SMSC_PORT", "2999")
    run("seed_demo")
    run("seed_demo")
    connection = ProviderConnection.objects.get()
    assert (connection.name, connection.host, connection.port, connection.enabled) == (
        "simulator",
        "127.0.0.1",
        2999,
        True,
    )


def test_run_gateway_refuses_an_unknown_connection_name(db):
    with pytest.raises(CommandError, match="No enabled SMPP connection named nowhere"):
        run("run_gateway", "--connection", "nowhere")


@pytest.fixture
def broker(monkeypatch):
    """Tasks go to the broker given, as outside the test suite (no eager shortcut past the check)."""
    from smsconsole.celery import app

    def use(url):
        app.conf.task_always_eager = False
        monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery prefers it to its settings
        app._after_fork()  # drops the publishing pool bound to the previous broker

    yield use
    app.conf.task_always_eager = True
    monkeypatch.undo()
    app._after_fork()


def test_send_campaign_refuses_before_anything_is_written_when_the_broker_is_unreachable(
    shop, template, recipients_file, broker
):
    from campaigns.models import RecipientImport

    create_connection()
    broker("redis://127.0.0.1:1/0")
    args = ["--application", shop.app_key, "--template", str(template.pk), "--file", str(recipients_file)]

    with pytest.raises(CommandError, match=r"cannot reach the Celery broker at redis://127\.0\.0\.1:1/0.*make run"):
        run("send_campaign", *args)

    assert not Campaign.objects.exists() and not RecipientImport.objects.exists()


def test_send_campaign_refuses_a_broker_that_no_worker_reads(
    shop, template, recipients_file, redis_url, broker, monkeypatch
):
    monkeypatch.setattr("campaigns.broker.WORKER_WAIT", 2.0)
    create_connection()
    broker(redis_url)  # a Redis that answers, with no worker of this test run on it
    args = ["--application", shop.app_key, "--template", str(template.pk), "--file", str(recipients_file)]

    with pytest.raises(CommandError, match="no Celery worker answered on the broker"):
        run("send_campaign", *args)

    assert not Campaign.objects.exists()


def test_campaign_status_of_a_running_campaign_refuses_an_unreachable_redis(shop, template, settings):
    campaign = create_campaign(shop, template, create_connection(), phones(2), status="running")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    with pytest.raises(CommandError, match=r"cannot reach Redis at redis://127\.0\.0\.1:1/0"):
        run("campaign_status", str(campaign.pk), "--json")


def test_send_campaign_names_the_reason_a_file_failed_with_its_code(shop, template, tmp_path):
    create_connection()
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match=r"failed \(empty\): The file is empty\.$"):
        run("send_campaign", "--application", shop.app_key, "--template", str(template.pk), "--file", str(path))
