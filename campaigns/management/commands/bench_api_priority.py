"""`manage.py bench_api_priority`: how long a verification code takes to reach the SMSC while a big
campaign is sending on the same connection.

PostgreSQL and Redis only. Starts the SMSC simulator (receipts bundled with the submit response),
`--workers` Celery workers and the gateway, launches a campaign to `--recipients` on a connection
capped at `--tps`, and once it is sending makes `--requests` one-number batchSendSms calls (the
real view, signed with X-WSSE, in this process) `--interval` seconds apart. The simulator stamps
the wall clock at which each code's submit_sm arrives (POST /watch); the figures are the time from
the request to that stamp: p50, p95 and the slowest, and how far the campaign was at the time.
"""

import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, transaction

from campaigns import money
from campaigns.management.commands import bench_send
from campaigns.models import Campaign, Message
from sms import signing
from smsconsole.models import Account, Application


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Command(bench_send.Command):
    help = "Times one-number API sends to the SMSC while a campaign sends on the same connection."

    def add_arguments(self, parser):
        parser.add_argument("--recipients", type=int, default=200_000)
        parser.add_argument("--tps", type=int, default=2000, help="The connection's rate (segments per second).")
        parser.add_argument("--requests", type=int, default=40)
        parser.add_argument("--interval", type=float, default=0.5)
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument("--timeout", type=float, default=900.0)
        parser.add_argument("--keep", action="store_true", help="Keep the campaign's rows.")
        parser.add_argument(
            "--api-account",
            choices=["same", "other"],
            default="other",
            help="Whose codes: the campaign's own account's, or another's (the usual case on a shared connection).",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_api_priority needs PostgreSQL: set DATABASE_URL")
        if not settings.REDIS_URL.startswith("redis://") or not settings.CELERY_BROKER_URL.startswith("redis://"):
            raise CommandError("bench_api_priority needs Redis: set CELERY_BROKER_URL (and REDIS_URL) to redis://…")
        self.vacuum()
        self.stdout.write(
            f"recipients: {options['recipients']:,} at {options['tps']} TPS, {options['requests']} one-number "
            f"requests {options['interval']} s apart, load average: {bench_send.load_average()}"
        )
        with tempfile.TemporaryDirectory(prefix="bench-api-") as log_dir:
            self.run_once(options, log_dir)

    def run_once(self, options, log_dir):
        from django.test import Client

        from smsconsole.celery import app

        count = options["recipients"]
        children, campaign = [], None
        try:
            simulator = self.start_simulator(log_dir, 0, None)
            children.append(simulator)
            provider = self.provider(simulator, 1, 64)
            provider.tps = options["tps"]
            provider.save(update_fields=["tps"])
            campaign = self.campaign(count, provider)
            if options["api_account"] == "same":
                application = Application.objects.get(pk=campaign.application_id)
                channel, template_id = campaign.signature.channel_number, campaign.template_id
            else:
                application, template = bench_template_of("Benchmark API", "106900000002")
                channel, template_id = template.signature.channel_number, template.pk
            Application.objects.filter(pk=application.pk).update(
                status=Application.Status.LAUNCHED, connection=provider
            )
            secret = application.app_secret
            for account_id in {application.account_id, campaign.account_id}:
                account = Account.objects.get(pk=account_id)
                if money.balance(account) < 100_000:
                    money.top_up(account, "1000000", note="bench_api_priority")  # the gateway charges

            queue = f"bench-api-{uuid.uuid4().hex[:8]}"
            env = self.environment(queue)
            celery = str(Path(sys.executable).with_name("celery"))
            for n in range(options["workers"]):
                argv = [celery, "-A", "smsconsole", "worker", "-P", "prefork", "-c", "1", "-Q", queue,
                        "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                        "-n", f"bench-api-{n + 1}-{queue}@%h"]  # fmt: skip
                children.append(bench_send.Child(f"worker-{n + 1}", argv, env, log_dir))
            gateway_argv = [sys.executable, "manage.py", "run_gateway", "--connection", bench_send.CONNECTION_NAME,
                            "--gateway-id", f"bench-{queue}"]  # fmt: skip
            children.append(bench_send.Child("gateway", gateway_argv, env, log_dir))
            self.wait(lambda: self.simulator_stats(simulator)["bound"] >= 1, children, 60, "the bind")
            app.conf.task_default_queue = queue
            with transaction.atomic():
                campaign.launch()
            self.wait(
                lambda: self.simulator_stats(simulator)["submits"] >= min(count // 10, 20_000),
                children,
                options["timeout"],
                "the campaign to be sending",
            )

            codes = [f"+86137{n:08d}" for n in range(options["requests"])]
            self.watch(simulator, [code.lstrip("+") for code in codes])
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
            client = Client()
            asked, answers, progress = {}, [], []
            for code in codes:
                data = {"from": channel, "to": code, "templateId": str(template_id), "templateParas": '["123456"]'}
                headers = signing.wsse_headers(application.app_key, secret)
                started = time.time()
                response = client.post(
                    "/sms/batchSendSms/v1", urlencode(data), content_type="application/x-www-form-urlencoded",
                    HTTP_AUTHORIZATION=headers["Authorization"], HTTP_X_WSSE=headers["X-WSSE"],
                )  # fmt: skip
                answers.append(time.time() - started)
                if response.status_code != 200 or response.json()["result"][0]["status"] != "000000":
                    raise CommandError(f"the request was refused: {response.content[:300]!r}")
                asked[code.lstrip("+")] = started
                progress.append(self.simulator_stats(simulator)["submits"])
                time.sleep(options["interval"])
            self.wait(
                lambda: all(self.watched(simulator).get(code) for code in asked), children, 60, "every code to arrive"
            )
            arrived = self.watched(simulator)
            latencies = [arrived[code] - at for code, at in asked.items()]
            claimed = dict(
                Message.objects.filter(via_api=True, phone__in=[f"+{code}" for code in asked]).values_list(
                    "phone", "submitted_at"
                )
            )
            to_claim = [claimed[f"+{code}"].timestamp() - at for code, at in asked.items()]
            campaign.refresh_from_db()
            self.stdout.write(
                f"verification codes, request → submit_sm at the SMSC: p50 {percentile(latencies, 0.5):.3f} s, "
                f"p95 {percentile(latencies, 0.95):.3f} s, slowest {max(latencies):.3f} s ({len(latencies)} requests)"
            )
            self.stdout.write(
                f"request → claimed by the gateway: p50 {percentile(to_claim, 0.5):.3f} s, "
                f"p95 {percentile(to_claim, 0.95):.3f} s"
            )
            self.stdout.write(
                f"the request's own answer: p50 {percentile(answers, 0.5):.3f} s, p95 {percentile(answers, 0.95):.3f} s"
            )
            self.stdout.write(
                f"the campaign meanwhile: {progress[0]:,} to {progress[-1]:,} of {count:,} submitted at the simulator "
                f"while the codes were asked; status now {campaign.status}, load average {bench_send.load_average()}"
            )
        finally:
            for child in reversed(children):
                child.stop()
            if campaign is not None and not options["keep"]:
                with connection.cursor() as cursor:
                    # The ledger keeps its entries (on_delete SET_NULL, which raw deletes do not apply).
                    api = "SELECT id FROM campaigns_campaign WHERE source = 'api'"
                    cursor.execute(
                        "UPDATE campaigns_ledgerentry SET campaign_id = NULL "
                        f"WHERE campaign_id = %s OR campaign_id IN ({api})",
                        [campaign.pk],
                    )
                self.delete(campaign)
                for api_campaign in Campaign.objects.filter(
                    source=Campaign.Source.API, connection__name=bench_send.CONNECTION_NAME
                ):
                    self.delete_api(api_campaign)

    def watch(self, simulator, destinations):
        import json
        import urllib.request

        request = urllib.request.Request(
            f"http://127.0.0.1:{simulator.control_port}/watch",
            data=json.dumps({"destinations": destinations}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def watched(self, simulator):
        return self.simulator_stats(simulator).get("watched", {})

    def delete_api(self, campaign):
        with connection.cursor() as cursor:
            for table in ("campaigns_messagepart", "campaigns_apimessage", "campaigns_statusreportdue"):
                messages = "SELECT id FROM campaigns_message WHERE campaign_id = %s"
                cursor.execute(f"DELETE FROM {table} WHERE message_id IN ({messages})", [campaign.pk])
            cursor.execute("DELETE FROM campaigns_message WHERE campaign_id = %s", [campaign.pk])
            cursor.execute("DELETE FROM campaigns_batch WHERE campaign_id = %s", [campaign.pk])
            # The API campaign's counters are delta rows too (campaigns.lifecycle.accept_api).
            cursor.execute("DELETE FROM campaigns_campaigncount WHERE campaign_id = %s", [campaign.pk])
            cursor.execute("DELETE FROM campaigns_campaign WHERE id = %s", [campaign.pk])


def bench_template_of(account_name, channel):
    """An application of another account with an approved signature and a one-variable template."""
    from accounts.models import activate
    from smsconsole.models import create_application
    from templates_app.models import Qualification, Signature, Template, TemplateVariable

    account, _ = Account.objects.get_or_create(name=account_name)
    activate(account)
    application = account.applications.first() or create_application(account, "Bench API")[0]
    qualification, _ = Qualification.objects.get_or_create(
        account=account, name="bench", defaults={"company_name": "Bench", "status": "approved"}
    )
    signature, _ = Signature.objects.get_or_create(
        application=application,
        name="BenchAPI",
        type="notification",
        defaults={"qualification": qualification, "status": "approved", "channel_number": channel},
    )
    template, created = Template.objects.get_or_create(
        application=application,
        name="code",
        defaults={"signature": signature, "type": "notification", "status": "active", "content": "Code ${1}."},
    )
    if created:
        TemplateVariable.objects.create(template=template, position=1, attribute="CHARDIGIT", max_length=6)
    return Application.objects.get(pk=application.pk), template
