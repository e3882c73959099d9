"""The statistics page's filters and numbers (业务统计), read from the hourly rollups only.

Every figure is a SUM over campaigns.HourlyStat (delta rows, so always summed), bucketed by hour for a
one-day range and by day otherwise, on the account's time zone. Messages are never counted here: the
page costs the same with ten messages or ten million.

A rollup's hour is a UTC hour; in a time zone whose offset is not a whole number of hours (Asia/Kolkata)
each UTC hour falls in the local hour (and day) its start falls in.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.db.models import Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.models import HourlyStat
from smsconsole.models import Application
from smsconsole.tenancy import parse_id
from templates_app.models import MessageType, Signature, Template

MAX_DAYS = 31  # the longest range, in consecutive days (cloud-sms-spec.md 4.6)
HISTORY_DAYS = 180  # how far back a range may start
DEFAULT_DAYS = 7

# The figures of a bucket, in the order the table shows them. `total` = sending + delivered + failed + unknown.
COUNTS = ("total", "delivered", "failed", "sending", "unknown", "segments")
# The series the chart can show (the reference's 发送总数 / 发送成功数 / 发送失败数 / 发送中).
SERIES = ("total", "delivered", "failed", "sending")


class IdChoiceField(forms.TypedMultipleChoiceField):
    """Ids among the account's own objects; an id of another account is not a valid choice."""

    def __init__(self, **kwargs):
        super().__init__(coerce=parse_id, required=False, **kwargs)


class StatisticsForm(forms.Form):
    """The page's GET filters. Choices are the account's own objects, loaded once each, so another
    account's ids are refused as invalid choices without a query per id."""

    application = IdChoiceField(label=pgettext_lazy("filter", "Applications"))
    signature = forms.TypedChoiceField(label=_("Signature"), coerce=parse_id, empty_value=None, required=False)
    type = forms.ChoiceField(label=_("Type"), required=False)
    template = IdChoiceField(label=pgettext_lazy("filter", "Templates"))
    start = forms.DateField(label=pgettext_lazy("date range", "From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=pgettext_lazy("date range", "To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, account):
        self.tz = zoneinfo.ZoneInfo(account.timezone)
        self.today = timezone.localtime(timezone=self.tz).date()
        data = data.copy()
        # An empty form is the last seven days, as the page first opens.
        data.setdefault("start", (self.today - timedelta(days=DEFAULT_DAYS - 1)).isoformat())
        data.setdefault("end", self.today.isoformat())
        super().__init__(data)
        applications = list(Application.objects.filter(account=account).order_by("name").values_list("pk", "name"))
        signatures = list(
            Signature.objects.filter(application__account=account).order_by("name", "pk").values_list("pk", "name")
        )
        templates = list(
            Template.objects.filter(application__account=account)
            .order_by("name", "pk")
            .values_list("pk", "name", "application__name")
        )
        self.fields["application"].choices = [(str(pk), name) for pk, name in applications]
        self.fields["signature"].choices = [("", _("All signatures"))] + [
            (str(pk), f"【{name}】") for pk, name in signatures
        ]
        self.fields["type"].choices = [("", _("All types")), *MessageType.choices]
        self.fields["template"].choices = [(str(pk), f"{name} · {app}") for pk, name, app in templates]
        for name in ("application", "template"):
            self.fields[name].widget.attrs["size"] = min(6, max(2, len(self.fields[name].choices)))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is None or end is None:
            return cleaned
        earliest = self.today - timedelta(days=HISTORY_DAYS - 1)
        if start > end:
            raise forms.ValidationError(_("The range ends before it starts."))
        if end > self.today:
            raise forms.ValidationError(_("The range cannot end after today."))
        if start < earliest:
            raise forms.ValidationError(
                _("The range must start within the last %(days)s days (on or after %(date)s).")
                % {"days": HISTORY_DAYS, "date": earliest.isoformat()}
            )
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(_("The range can span at most %(days)s days.") % {"days": MAX_DAYS})
        return cleaned

    def query(self):
        """The valid filters as a Query for `statistics()`."""
        data = self.cleaned_data
        return Query(
            tz=self.tz,
            start=data["start"],
            end=data["end"],
            applications=tuple(data["application"]),
            signature=data["signature"],
            type=data["type"],
            templates=tuple(data["template"]),
        )


def campaign_filters(campaign, tz):
    """The statistics page's filters for a campaign's own figures: its application and template over
    the days it sent (cut to the page's limits), or None when it sent before the oldest day shown."""
    today = timezone.localtime(timezone=tz).date()
    earliest = today - timedelta(days=HISTORY_DAYS - 1)
    began = campaign.started_at or campaign.planned_at
    if began is None:
        return None
    start = max(timezone.localtime(began, tz).date(), earliest)
    end = timezone.localtime(campaign.finished_at, tz).date() if campaign.finished_at else today
    end = min(end, today, start + timedelta(days=MAX_DAYS - 1))
    if end < earliest:
        return None
    return {
        "application": [campaign.application_id],
        "template": [campaign.template_id],
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


@dataclass(frozen=True)
class Query:
    tz: zoneinfo.ZoneInfo
    start: date
    end: date  # inclusive
    applications: tuple = ()
    signature: int | None = None
    type: str = ""
    templates: tuple = ()

    @property
    def hourly(self):
        return self.start == self.end

    @property
    def start_at(self):
        return datetime.combine(self.start, time.min, tzinfo=self.tz)

    @property
    def end_at(self):
        """The first moment after the range (exclusive)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.tz)

    def _midnight(self, day):
        return datetime.combine(day, time.min, tzinfo=self.tz)

    def buckets(self):
        """(key, start, end) of every bucket of the range in order, empty ones included; a key is a
        naive local hour for an hourly range (a repeated hour at the end of summer time is one
        bucket, as the database groups it) and a date for a daily one."""
        if not self.hourly:
            days = [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]
            return [(day, self._midnight(day), self._midnight(day + timedelta(days=1))) for day in days]
        found, moment, end_at = {}, self.start_at.astimezone(UTC), self.end_at
        while moment < end_at:
            local = moment.astimezone(self.tz).replace(minute=0, second=0, microsecond=0)
            key = local.replace(tzinfo=None)
            if key not in found:
                found[key] = [local, None]
            found[key][1] = (moment + timedelta(hours=1)).astimezone(self.tz)
            moment += timedelta(hours=1)
        return [(key, start, end) for key, (start, end) in found.items()]


def rollup_rows(account, query):
    """The account's HourlyStat rows within the query's range and filters."""
    rows = HourlyStat.objects.filter(account=account, hour__gte=query.start_at, hour__lt=query.end_at)
    if query.applications:
        rows = rows.filter(application_id__in=query.applications)
    if query.signature:
        rows = rows.filter(signature_id=query.signature)
    if query.type:
        rows = rows.filter(type=query.type)
    if query.templates:
        rows = rows.filter(template_id__in=query.templates)
    return rows


@dataclass
class Bucket:
    key: object  # a naive local datetime (hourly) or a date (daily)
    start: datetime
    end: datetime
    total: int = 0
    delivered: int = 0
    failed: int = 0
    sending: int = 0
    unknown: int = 0
    segments: int = 0

    def label(self, hourly):
        return self.key.strftime("%H:00") if hourly else self.key.isoformat()


def statistics(account, query):
    """Every bucket of the range with its sums, in one query grouped in the database."""
    trunc = TruncHour("hour", tzinfo=query.tz) if query.hourly else TruncDate("hour", tzinfo=query.tz)
    sums = (
        rollup_rows(account, query)
        .annotate(bucket=trunc)
        .values("bucket")
        .annotate(**{name: Sum(name) for name in COUNTS})
        .order_by()
    )
    by_key = {}
    for row in sums:
        key = row.pop("bucket")
        if query.hourly:
            key = timezone.localtime(key, query.tz).replace(tzinfo=None)
        by_key[key] = row
    buckets = []
    for key, start, end in query.buckets():
        bucket = Bucket(key=key, start=start, end=end)
        for name, value in by_key.get(key, {}).items():
            setattr(bucket, name, value or 0)
        buckets.append(bucket)
    return buckets


def totals(buckets):
    """The range's sums, and each outcome's share of the total in percent (None when nothing was sent)."""
    sums = {name: sum(getattr(b, name) for b in buckets) for name in COUNTS}
    shares = {
        name: (round(100 * sums[name] / sums["total"], 2) if sums["total"] else None)
        for name in ("delivered", "failed", "sending", "unknown")
    }
    return sums, shares
