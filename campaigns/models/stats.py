from django.db import models
from django.utils.translation import gettext_lazy as _

from smsconsole.models import Account, Application
from templates_app.models import MessageType


class HourlyStat(models.Model):
    """Message counts per hour and per application, signature, template and type: what the statistics
    page (业务统计) reads instead of counting messages.

    Rows are deltas, RapidPro's squashed counts: the message lifecycle inserts a row of changes for each
    group of messages it moves (a receipt moves one from ``sending`` to ``delivered``), so no
    transaction waits for another on a shared counter row; a periodic task squashes each key's rows
    into one (``is_squashed``). Readers always SUM, so they never care whether squashing has run.

    ``hour`` is the UTC hour the message was handed to the provider. A message counts once in
    ``total`` and sits in exactly one of the other columns: total = sending + delivered + failed + unknown
    (failed includes expired and refused at submit; skipped and cancelled messages never left, so they
    are not counted here).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    signature = models.ForeignKey("templates_app.Signature", on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey("templates_app.Template", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(_("type"), max_length=16, choices=MessageType)
    hour = models.DateTimeField(_("hour"))
    total = models.BigIntegerField(default=0)
    sending = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    unknown = models.BigIntegerField(default=0)
    segments = models.BigIntegerField(default=0)  # segments of the messages in total
    is_squashed = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # The statistics page filters an account's range of hours; the squash task finds unsquashed keys.
            models.Index(fields=["account", "hour"], name="hourlystat_account_hour"),
            models.Index(
                fields=["account", "application", "signature", "template", "type", "hour"],
                condition=models.Q(is_squashed=False),
                name="hourlystat_unsquashed",
            ),
        ]
