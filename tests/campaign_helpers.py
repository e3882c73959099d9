"""Builders for campaign-page tests."""

from django.core.files.base import ContentFile

from campaigns.models import Campaign, ProviderConnection, RecipientImport
from tests.import_helpers import ORDER_CONTENT

ORDER_FILE = "phone,1,2\n13800138000,A100,张三\n13900139000,A101,李四\n".encode()


def create_connection(name="simulator", **fields):
    defaults = dict(host="127.0.0.1", port=2775, system_id="smsconsole")
    defaults.update(fields)
    return ProviderConnection.objects.create(name=name, **defaults)


def create_order_setup(factories, application, name="Shop"):
    """An approved notification signature with an active order template (CHARDIGIT, TEXT)."""
    signature = factories.create_signature(application, name=name)
    template = factories.create_template(
        application, signature=signature, content=ORDER_CONTENT, variables=[("CHARDIGIT", 20), ("TEXT", 10)]
    )
    return signature, template


def create_completed_import(account, application, template=None, name="orders.csv", **counts):
    """A COMPLETED import with the given counters, without recipient rows (run_import makes real ones)."""
    fields = dict(status=RecipientImport.Status.COMPLETED, accepted=2, rows_read=2, segments=2)
    fields.update(counts)
    imp = RecipientImport(account=account, application=application, template=template, original_name=name, **fields)
    imp.file.save(name, ContentFile(b"13800138000\n"), save=False)
    imp.save()
    return imp


def create_campaign(account, template, connection, *, recipient_import=None, contact_list=None, **fields):
    defaults = dict(
        name="Spring sale",
        application=template.application,
        signature=template.signature,
        mode=Campaign.Mode.DIFF
        if recipient_import is not None and recipient_import.template_id
        else Campaign.Mode.TEMPLATE,
    )
    defaults.update(fields)
    return Campaign.objects.create(
        account=account,
        template=template,
        connection=connection,
        recipient_import=recipient_import,
        contact_list=contact_list,
        **defaults,
    )
