"""Builders for the results pages' tests: rollup rows written the way the message lifecycle writes them."""

from campaigns.models import HourlyStat


def create_hourly_stat(
    template, hour, *, total=0, delivered=0, failed=0, sending=0, unknown=0, segments=None, **fields
):
    """One delta row of HourlyStat for `template`'s application, signature and type at `hour` (aware)."""
    return HourlyStat.objects.create(
        account=template.application.account,
        application=template.application,
        signature=template.signature,
        template=template,
        type=template.type,
        hour=hour,
        total=total,
        delivered=delivered,
        failed=failed,
        sending=sending,
        unknown=unknown,
        segments=total if segments is None else segments,
        **fields,
    )


def create_sent_hour(template, hour, *, delivered=0, failed=0, sending=0, unknown=0):
    """The delta rows one hour of sending leaves before squashing: the submit (+total, +sending), then
    the receipts moving messages out of sending."""
    total = delivered + failed + sending + unknown
    create_hourly_stat(template, hour, total=total, sending=total)
    create_hourly_stat(
        template,
        hour,
        sending=-(delivered + failed + unknown),
        delivered=delivered,
        failed=failed,
        unknown=unknown,
        segments=0,
    )
