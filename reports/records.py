"""The send records search (发送详情): an account's messages by campaign settings, result, number and
time window, newest first.

A search first finds the account's campaigns that match the settings filters (application,
signature, template, type, channel number) and could have messages in the window; that list is
short. Messages are then read per (campaign, status) along the index message_records, which holds
each pair's messages ordered by sent_time() then id: on PostgreSQL a LATERAL join takes the first
rows of every pair and merges them, so a page costs a few index probes per campaign however many
million messages the window holds. Elsewhere (the SQLite default) one plain ORDER BY does the same.
"""

from datetime import datetime, time, timedelta

from django import forms
from django.db import connection
from django.db.models import BooleanField, Case, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.contacts_import import default_region
from campaigns.models import Campaign, Message
from campaigns.models.sending import sent_time
from campaigns.money import charged_messages
from campaigns.numbers import normalise_number
from smsconsole.forms import IdChoiceField, IdMultipleChoiceField
from smsconsole.models import Application
from templates_app.models import MessageType, Signature, Template

WINDOW_DAYS = 7  # the longest window of one search, in days (the reference's 7 days)
HISTORY_DAYS = 90  # how far back a search reaches
PAGE_SIZE = 20
MAX_LISTED = 1000  # rows a search pages through; the export has them all
# A campaign's messages carry times up to its end (receipts move done_at, not sent_time()); the
# margin covers cancellations written just after finished_at.
FINISH_MARGIN = timedelta(days=1)

# The results a search offers, as the reference's 发送结果 and the statistics page count them.
RESULTS = {
    "delivered": ((Message.Status.DELIVERED,), pgettext_lazy("result", "Delivered")),
    "failed": ((Message.Status.FAILED, Message.Status.EXPIRED), pgettext_lazy("result", "Failed")),
    "sending": ((Message.Status.SENDING, Message.Status.SUBMITTED), pgettext_lazy("result", "Awaiting report")),
    "unknown": ((Message.Status.UNKNOWN,), pgettext_lazy("result", "Unknown")),
    "queued": ((Message.Status.QUEUED,), pgettext_lazy("result", "Queued")),
    "skipped": ((Message.Status.SKIPPED,), pgettext_lazy("result", "Skipped")),
    "cancelled": ((Message.Status.CANCELLED,), pgettext_lazy("result", "Cancelled")),
}
# sent_time() as raw SQL, spelled as the index message_records has it.
SENT = "COALESCE(submitted_at, done_at, updated_at)"
RESULT_OF = {status: key for key, (statuses, _label) in RESULTS.items() for status in statuses}


def result_label(status):
    return RESULTS[RESULT_OF[status]][1]


class RecordSearchForm(forms.Form):
    """GET parameters kept stable for links from other pages (the statistics drill-down, the
    campaign page): application, signature, template, type, status, phone, start, end, campaign."""

    # Several applications or templates, as the statistics page filters and drills down with.
    application = IdMultipleChoiceField(Application.objects.none(), required=False, label=_("Application"))
    signature = IdChoiceField(Signature.objects.none(), required=False, empty_label="—", label=_("Signature"))
    template = IdMultipleChoiceField(Template.objects.none(), required=False, label=_("Template"))
    type = forms.ChoiceField(choices=[("", "—"), *MessageType.choices], required=False, label=_("Type"))
    channel = forms.CharField(required=False, max_length=21, label=_("Channel number"))
    status = forms.ChoiceField(
        choices=[("", "—"), *((key, label) for key, (_s, label) in RESULTS.items())],
        required=False,
        label=_("Result"),
    )
    phone = forms.CharField(required=False, max_length=32, label=_("Number"))
    start = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    campaign = IdChoiceField(Campaign.objects.none(), required=False, widget=forms.HiddenInput)

    def __init__(self, data, account):
        super().__init__(data)
        self.account = account
        self.fields["application"].queryset = Application.objects.filter(account=account)
        self.fields["signature"].queryset = Signature.objects.filter(application__account=account)
        self.fields["template"].queryset = Template.objects.filter(application__account=account)
        self.fields["campaign"].queryset = Campaign.objects.filter(account=account)

    @staticmethod
    def defaults(data):
        """The request's parameters, with the last 7 days when neither a window nor a campaign is given."""
        data = data.copy()
        if not data.get("start") and not data.get("end") and not data.get("campaign"):
            today = timezone.localdate()
            data["start"] = (today - timedelta(days=WINDOW_DAYS - 1)).isoformat()
            data["end"] = today.isoformat()
        return data

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        if not raw:
            return ""
        phone, error = normalise_number(raw, default_region(self.account))
        if error:
            raise forms.ValidationError(_("Enter a whole mobile number, e.g. 13800138000."))
        return phone

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if self.errors:
            return cleaned
        if cleaned.get("campaign") is not None and start is None and end is None:
            return cleaned  # one campaign's records need no window: the index reads them in order
        if start is None or end is None:
            raise forms.ValidationError(_("Choose both the first and the last day of the search."))
        if end < start:
            raise forms.ValidationError(_("The last day must not be before the first day."))
        if cleaned.get("campaign") is None:
            # One campaign is a bounded set of rows; the whole account is not, hence the reference's limits.
            if (end - start).days >= WINDOW_DAYS:
                raise forms.ValidationError(
                    _("A search spans at most %(days)s days: choose a shorter window.") % {"days": WINDOW_DAYS}
                )
            if start < timezone.localdate() - timedelta(days=HISTORY_DAYS - 1):
                raise forms.ValidationError(
                    _("Records of the last %(days)s days can be searched: choose a later first day.")
                    % {"days": HISTORY_DAYS}
                )
        return cleaned

    def query_string(self):
        """The cleaned search as GET parameters, for paging and the export links."""
        from django.http import QueryDict

        query = QueryDict(mutable=True)
        for name in ("application", "template"):
            query.setlist(name, [obj.pk for obj in self.cleaned_data.get(name) or []])
        for name in ("signature", "campaign"):
            if self.cleaned_data.get(name) is not None:
                query[name] = self.cleaned_data[name].pk
        for name in ("type", "channel", "status", "phone"):
            if self.cleaned_data.get(name):
                query[name] = self.cleaned_data[name]
        for name in ("start", "end"):
            if self.cleaned_data.get(name):
                query[name] = self.cleaned_data[name].isoformat()
        return query.urlencode()


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min))


class RecordSearch:
    """A cleaned search. Paginator-compatible (count() and slicing give message rows), so the console's
    shared pagination pages it; counting stops past MAX_LISTED rows."""

    def __init__(self, account, cleaned):
        self.account = account
        self.cleaned = cleaned
        self.statuses = (
            list(RESULTS[cleaned["status"]][0]) if cleaned.get("status") else [s.value for s in Message.Status]
        )
        self.since = _day_start(cleaned["start"]) if cleaned.get("start") else None
        self.until = _day_start(cleaned["end"] + timedelta(days=1)) if cleaned.get("end") else None
        self._campaign_ids = None
        self._count = None

    def campaign_ids(self):
        """The account's planned campaigns that match the settings filters and the window."""
        if self._campaign_ids is None:
            campaigns = Campaign.objects.filter(account=self.account, planned_at__isnull=False)
            filters = {
                "application__in": list(self.cleaned.get("application") or []),
                "signature": self.cleaned.get("signature"),
                "template__in": list(self.cleaned.get("template") or []),
                "template__type": self.cleaned.get("type"),
                "signature__channel_number": self.cleaned.get("channel"),
                "pk": getattr(self.cleaned.get("campaign"), "pk", None),
            }
            campaigns = campaigns.filter(**{k: v for k, v in filters.items() if v})
            if self.until is not None:
                campaigns = campaigns.filter(started_at__lt=self.until)
            if self.since is not None:
                campaigns = campaigns.exclude(finished_at__lt=self.since - FINISH_MARGIN)
            self._campaign_ids = list(campaigns.order_by().values_list("pk", flat=True))
        return self._campaign_ids

    def messages(self):
        """The matching messages as a queryset, newest first (the export and the SQLite path)."""
        rows = Message.objects.filter(campaign_id__in=self.campaign_ids(), status__in=self.statuses).alias(
            sent=sent_time()
        )
        if self.since is not None:
            rows = rows.filter(sent__gte=self.since)
        if self.until is not None:
            rows = rows.filter(sent__lt=self.until)
        if self.cleaned.get("phone"):
            rows = rows.filter(phone=self.cleaned["phone"])
        return rows.order_by(sent_time().desc(), "-id")

    def count(self):
        """Matches up to MAX_LISTED, what the pages reach; `capped` tells whether there are more."""
        return min(self._counted(), MAX_LISTED)

    @property
    def capped(self):
        return self._counted() > MAX_LISTED

    def _counted(self):
        if self._count is None:
            if not self.campaign_ids():
                self._count = 0
            elif connection.vendor == "postgresql":
                self._count = self._lateral_count(MAX_LISTED + 1)
            else:
                self._count = self.messages().order_by().values("pk")[: MAX_LISTED + 1].count()
        return self._count

    def __len__(self):
        return self.count()

    def __getitem__(self, window):
        if not isinstance(window, slice):
            raise TypeError("RecordSearch only slices")
        offset, stop = window.start or 0, window.stop
        if not self.campaign_ids() or stop <= offset:
            return []
        ids = self._page_ids(offset, stop - offset)
        rows = with_charged(Message.objects.filter(pk__in=ids)).select_related(
            "campaign__application", "campaign__signature", "campaign__template"
        )
        by_id = {row.pk: row for row in rows}
        return [by_id[pk] for pk in ids if pk in by_id]

    def _page_ids(self, offset, limit):
        if connection.vendor != "postgresql":
            return list(self.messages().values_list("pk", flat=True)[offset : offset + limit])
        # Each (campaign, status) pair yields its newest offset + limit rows straight from the index
        # (message_records); the outer sort merges those few rows only.
        sql = (
            f"SELECT m.id FROM {self._pairs_sql()} CROSS JOIN LATERAL ("
            f"  SELECT id, {SENT} AS sent FROM campaigns_message WHERE {self._pair_where()}"
            f"  ORDER BY {SENT} DESC, id DESC LIMIT %s"
            ") m ORDER BY m.sent DESC, m.id DESC LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*self._pair_params(), offset + limit, limit, offset])
            return [row[0] for row in cursor.fetchall()]

    def _lateral_count(self, limit):
        """Counts matches up to `limit`, each (campaign, status) pair an index range of its own: the
        window is an index condition there, where a plain count would filter rows outside it."""
        sql = (
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {self._pairs_sql()} CROSS JOIN LATERAL ("
            f"  SELECT 1 FROM campaigns_message WHERE {self._pair_where()} LIMIT %s"
            ") m LIMIT %s) counted"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*self._pair_params(), limit, limit])
            return cursor.fetchone()[0]

    @staticmethod
    def _pairs_sql():
        return "unnest(%s::bigint[]) AS c(id) CROSS JOIN unnest(%s::varchar[]) AS s(status)"

    def _pair_where(self):
        conditions = ["campaign_id = c.id", "status = s.status"]
        if self.since is not None:
            conditions.append(f"{SENT} >= %s")
        if self.until is not None:
            conditions.append(f"{SENT} < %s")
        if self.cleaned.get("phone"):
            conditions.append("phone = %s")
        return " AND ".join(conditions)

    def _pair_params(self):
        params = [self.campaign_ids(), self.statuses]
        params += [value for value in (self.since, self.until, self.cleaned.get("phone")) if value]
        return params


def with_charged(messages):
    """Annotates `charged` by campaigns.money's rule (charged unless refunded; unknown is charged)."""
    return messages.annotate(
        charged=Case(When(charged_messages(), then=Value(True)), default=Value(False), output_field=BooleanField())
    )
