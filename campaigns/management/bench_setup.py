"""The account, approved signature and active template the benchmark commands send with."""

from decimal import Decimal

from accounts.models import activate
from smsconsole.models import Account, create_application
from templates_app.models import Qualification, Signature, Template, TemplateVariable

BENCH_FUNDS = Decimal("100000000")  # CNY: enough for many runs of millions of messages


def bench_template(name, content, attributes):
    """Returns (application, template), creating them once; `attributes` gives each variable's."""
    account, _ = Account.objects.get_or_create(name="Benchmark")
    activate(account)
    # The gateway charges every chunk (campaigns.sending_rules): an unfunded account's campaign is
    # held for its balance at the first chunk and the benchmark would wait for ever.
    if account.balance < BENCH_FUNDS:
        from campaigns import money

        money.top_up(account, BENCH_FUNDS - account.balance, note="benchmark funds")
    # Every run sends to the same generated numbers: without this the frequency caps would skip
    # them once earlier runs reached a cap, and the figures would count skips as sends.
    from campaigns.frequency import FrequencyCaps

    FrequencyCaps.for_account(account.pk).forget()
    application = account.applications.first() or create_application(account, "Bench")[0]
    qualification, _ = Qualification.objects.get_or_create(
        account=account, name="bench", defaults={"company_name": "Bench", "status": "approved"}
    )
    signature, _ = Signature.objects.get_or_create(
        application=application,
        name="Bench",
        type="notification",
        defaults={"qualification": qualification, "status": "approved", "channel_number": "106900000001"},
    )
    template, created = Template.objects.get_or_create(
        application=application,
        name=name,
        defaults={"signature": signature, "type": "notification", "status": "active", "content": content},
    )
    if created:
        TemplateVariable.objects.bulk_create(
            TemplateVariable(template=template, position=position, attribute=attribute, max_length=20)
            for position, attribute in enumerate(attributes, start=1)
        )
    return application, template
