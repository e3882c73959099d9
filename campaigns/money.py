"""Balances and prices: the one place an account's balance moves and a segment gets its price.

Prices are per segment, by category (verification and notification share the "industry" price,
promotions their own), in monthly tiers that a month's volume climbs through — a charge that
crosses a tier boundary is priced in both (the reference's "auto tier-crossing", 4.3). A charge
is refused rather than taken when the balance cannot cover it: nothing is sent unpaid.

Refunds follow SMS_REFUND_POLICY (the reference's two readings, 4.3): both give back what the
platform refused at the hand-over (campaigns.sending_rules.record); "success_only" also gives back
what the carrier reported failed or expired (refund_reported, called by the lifecycle in the
transaction of the move). `unknown` stays charged under both: it may have been delivered.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from campaigns.models.money import LedgerEntry, MonthlyVolume
from smsconsole.models import Account

CENT = Decimal("0.0001")
CATEGORIES = {"verification": "industry", "notification": "industry", "promotion": "promotion"}


class InsufficientBalance(Exception):
    def __init__(self, needed, balance):
        super().__init__(f"{needed} needed, {balance} available")
        self.needed, self.balance = needed, balance


def category_of(message_type):
    return CATEGORIES[message_type]


def price_of(category, segments, month_volume):
    """The price of `segments` more segments after `month_volume` this month, tier by tier."""
    total, volume, left = Decimal(0), month_volume, segments
    for ceiling, price in settings.SMS_PRICES[category]:
        if left <= 0:
            break
        room = left if ceiling is None else max(0, min(left, ceiling - volume))
        total += Decimal(price) * room
        volume += room
        left -= room
    return total.quantize(CENT, ROUND_HALF_UP)


def most_for(category, segments):
    """The most `segments` can cost in the category, whatever the month's volume: at its dearest tier."""
    return (max(Decimal(price) for _ceiling, price in settings.SMS_PRICES[category]) * segments).quantize(
        CENT, ROUND_HALF_UP
    )


def month_start(now=None):
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_volume(account_id, category, now=None):
    """Segments charged this (local) month in the category, net of refunds (MonthlyVolume)."""
    volumes = MonthlyVolume.objects.filter(account_id=account_id, category=category, month=month_start(now).date())
    return volumes.values_list("segments", flat=True).first() or 0


def _count_volume(account_id, category, month, segments):
    """Adds `segments` (negative for a refund) to the month's volume, never below zero, and returns
    the volume after it. Called by _move_segments after the account's row is locked, so no
    concurrent move of the account can create the row beside it or move it in between.

    Never below zero: a failure reported in December for a November charge is refunded from
    December's volume, and a negative volume would stretch the first, dearest tier of later
    charges (price_of). CASE rather than GREATEST, which SQLite spells MAX."""
    table = MonthlyVolume._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET segments = CASE WHEN segments + %s > 0 THEN segments + %s ELSE 0 END"
            " WHERE account_id = %s AND category = %s AND month = %s RETURNING segments",
            [segments, segments, account_id, category, connection.ops.adapt_datefield_value(month)],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    volume = max(segments, 0)
    MonthlyVolume.objects.create(account_id=account_id, category=category, month=month, segments=volume)
    return volume


def _move_balance(account_id, amount, require_cover=False):
    """Moves the balance and returns it after the move; compare-and-set on the balance when the
    amount must be covered, so concurrent charges can never overdraw it (InsufficientBalance).

    The same UPDATE keeps Account.overdrawn_since, which the arrears rules read: set when the
    balance turns negative (kept while it stays so), cleared when it is back at zero or above.
    The CASE reads the balance before the move, as SQL does on both PostgreSQL and SQLite, and
    RETURNING gives the balance after it (both have it; the ORM's update() returns a row count)."""
    table = Account._meta.db_table
    sql = (
        f"UPDATE {table} SET balance = balance + %s,"
        " overdrawn_since = CASE WHEN balance < %s THEN COALESCE(overdrawn_since, %s) ELSE NULL END"
        " WHERE id = %s"
    )
    # The time as the backend stores it (SQLite: naive UTC text, which raw parameters do not get).
    params = [amount, -amount, connection.ops.adapt_datetimefield_value(timezone.now()), account_id]
    if require_cover:
        sql, params = sql + " AND balance >= %s", [*params, -amount]
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING balance", params)
        row = cursor.fetchone()
    if row is None:
        balance = Account.objects.filter(pk=account_id).values_list("balance", flat=True).first()
        raise InsufficientBalance(-amount, balance)
    # SQLite answers a number, PostgreSQL a Decimal: the field's own conversion, to the cent.
    return Account._meta.get_field("balance").to_python(row[0]).quantize(CENT, ROUND_HALF_UP)


def _move(account_id, amount, kind, **fields):
    """A top-up or correction: moves the balance and writes its entry in one transaction. Neither
    touches a month's volume, so the balance's UPDATE is the account's only lock."""
    with transaction.atomic():
        balance = _move_balance(account_id, amount)
        return LedgerEntry.objects.create(
            account_id=account_id, kind=kind, amount=amount, balance_after=balance, created_at=timezone.now(), **fields
        )


def _lock_account(account_id):
    """Takes the account's row lock for the transaction: FOR NO KEY UPDATE, the lock the balance's
    UPDATE takes anyway, so inserts that reference the account (its ledger entries, messages) are
    not held up by it. A no-op on SQLite, whose transactions take the database's write lock when
    they begin (IMMEDIATE)."""
    list(Account.objects.select_for_update(no_key=True).filter(pk=account_id).values_list("pk"))


class _Free(Exception):
    """Segments that cost nothing: no entry (an entry moves money), so no volume either."""


def _move_segments(account_id, kind, category, segments, **fields):
    """A charge or refund of `segments`, priced from the month's volume as it is under the account's
    lock, in the transaction that moves it; returns the entry, or None when the price is zero.

    Priced from a volume read before the lock, two gateway processes charging the account at once
    would both price from the same volume, and a chunk crossing a tier boundary would be billed at
    the tier it left. Locks in one order everywhere: the account's row, then its MonthlyVolume row
    (top-ups and corrections lock only the account). The volume's UPDATE ... RETURNING is the read:
    a charge is priced from the volume before it (after less its segments), a refund as the last
    segments charged, from the volume after it (the volume less its segments, at least zero)."""
    is_charge = kind == LedgerEntry.Kind.CHARGE
    try:
        with transaction.atomic():
            _lock_account(account_id)
            created_at = timezone.now()
            month = month_start(created_at).date()
            after = _count_volume(account_id, category, month, segments if is_charge else -segments)
            price = price_of(category, segments, after - segments if is_charge else after)
            if price == 0:
                raise _Free
            amount = -price if is_charge else price
            # Compare-and-set for a charge: InsufficientBalance rolls the volume's move back with it.
            balance = _move_balance(account_id, amount, require_cover=is_charge)
            return LedgerEntry.objects.create(
                account_id=account_id,
                kind=kind,
                amount=amount,
                balance_after=balance,
                created_at=created_at,
                category=category,
                segments=segments,
                **fields,
            )
    except _Free:
        return None


def top_up(account, amount, user=None, note=""):
    """Money paid in (positive amount) by staff."""
    amount = Decimal(amount).quantize(CENT)
    if amount <= 0:
        raise ValueError("a top-up adds money; use correct() to take some")
    entry = _move(account.pk, amount, LedgerEntry.Kind.TOP_UP, note=note[:200], created_by=user)
    _resume_held(account.pk)
    return entry


def _resume_held(account_id):
    """Campaigns held for their balance (campaigns.sending_rules) send on once the money is in."""
    from campaigns import sending_rules

    transaction.on_commit(lambda: sending_rules.resume_after_top_up(account_id))


def correct(account, amount, note, user=None):
    """A staff correction of either sign; its reason is required."""
    amount = Decimal(amount).quantize(CENT)
    if amount == 0:
        raise ValueError("a correction must move money")
    if not note.strip():
        raise ValueError("a correction needs its reason")
    entry = _move(account.pk, amount, LedgerEntry.Kind.CORRECTION, note=note.strip()[:200], created_by=user)
    if amount > 0:
        _resume_held(account.pk)
    return entry


def charge(account_id, message_type, segments, campaign_id=None):
    """Takes the price of `segments` handed over, or raises InsufficientBalance and takes nothing.
    Priced from the month's volume under the account's lock (_move_segments): a volume the caller
    read before is only a hint of how much to try (sending_rules._affordable)."""
    return _move_segments(
        account_id, LedgerEntry.Kind.CHARGE, category_of(message_type), segments, campaign_id=campaign_id
    )


def refund(account_id, message_type, segments, campaign_id=None, note=""):
    """Gives back charged segments that failed, at the category's current marginal price."""
    category = category_of(message_type)
    return _move_segments(
        account_id, LedgerEntry.Kind.REFUND, category, segments, campaign_id=campaign_id, note=note[:200]
    )


def rebuild_month_volume(account_id):
    """Counts the account's MonthlyVolume rows of this month again from its ledger, under the
    account's lock, and returns {category: (stored, counted)} of the rows it changed (manage.py
    rebuild_monthly_volume). For charges the rows never counted: migration 0025 counted the month
    once, and processes of the earlier version charging during the deploy did not count theirs.

    The month's entries are replayed in the order they were written (created_at is taken under the
    lock), stopping at zero as each refund does (_count_volume), so the rows come out as the
    charges and refunds would have left them."""
    month = month_start()
    with transaction.atomic():
        _lock_account(account_id)
        entries = (
            LedgerEntry.objects.filter(
                account_id=account_id,
                kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.REFUND],
                created_at__gte=month,
            )
            .exclude(category="")
            .order_by("created_at", "id")
            .values_list("kind", "category", "segments")
        )
        counted = {}
        for kind, category, segments in entries:
            sign = 1 if kind == LedgerEntry.Kind.CHARGE else -1
            counted[category] = max(counted.get(category, 0) + sign * segments, 0)
        rows = MonthlyVolume.objects.filter(account_id=account_id, month=month.date())
        stored = dict(rows.values_list("category", "segments"))
        changed = {}
        for category in sorted(stored.keys() | counted.keys()):
            if stored.get(category) != counted.get(category, 0):
                volume = counted.get(category, 0)
                MonthlyVolume.objects.update_or_create(
                    account_id=account_id, category=category, month=month.date(), defaults={"segments": volume}
                )
                changed[category] = (stored.get(category, 0), volume)
    return changed


def refund_reported(segments_by_campaign):
    """Under SMS_REFUND_POLICY=success_only, gives back the segments the carrier reported failed or
    expired, one REFUND entry per campaign; {campaign id: segments} of the messages one lifecycle
    move took from submitted to failed or expired, called in that move's transaction
    (campaigns.lifecycle), so each message is refunded once however often its receipt comes. Under
    "platform" the carrier's failures stay charged. The system account is never charged."""
    if settings.SMS_REFUND_POLICY != "success_only" or not segments_by_campaign:
        return []
    from campaigns.models import Campaign

    campaigns = (
        Campaign.objects.filter(pk__in=list(segments_by_campaign), account__is_system=False)
        .values_list("account_id", "pk", "template__type")
        .order_by("account_id", "pk")  # accounts locked in one order by concurrent moves
    )
    entries = []
    for account_id, campaign_id, message_type in campaigns:
        segments = segments_by_campaign[campaign_id]
        if segments > 0:
            entries.append(refund(account_id, message_type, segments, campaign_id, note="reported failed"))
    return [entry for entry in entries if entry is not None]


def charged_messages():
    """A Q over Message: the messages whose segments are charged and not refunded.

    Charged at the hand-over, so what never left (queued, skipped, cancelled) or was refused by it
    (failed without a provider's id) is not; what may have reached the carrier (sending, unknown)
    is. A carrier's failure or expiry is refunded only under SMS_REFUND_POLICY=success_only. The
    provider's id tells one from a refusal: only a message the provider accepted has one."""
    handed_over = Q(status__in=["sending", "submitted", "delivered", "unknown"])
    reported_failed = Q(status__in=["failed", "expired"], provider_id__isnull=False)
    if settings.SMS_REFUND_POLICY == "success_only":
        return handed_over
    return handed_over | reported_failed


def reconcile(campaign_id):
    """Compares the segments the ledger holds charged for the campaign (its charges less its
    refunds) with the segments of its messages that charged_messages() says are paid for; returns
    {"counted": ledger, "rows": messages} when they differ, else None. Read only: it proves that
    no refund was missed or given twice, and repairs nothing."""
    from campaigns.models import Campaign, Message

    campaign = Campaign.objects.select_related("account").get(pk=campaign_id)
    entries = LedgerEntry.objects.filter(campaign_id=campaign_id).aggregate(
        charged=Sum("segments", filter=Q(kind=LedgerEntry.Kind.CHARGE)),
        refunded=Sum("segments", filter=Q(kind=LedgerEntry.Kind.REFUND)),
    )
    counted = (entries["charged"] or 0) - (entries["refunded"] or 0)
    rows = 0
    if not campaign.account.is_system:
        paid = Message.objects.filter(charged_messages(), campaign_id=campaign_id)
        rows = paid.aggregate(n=Sum("segments"))["n"] or 0
    return None if counted == rows else {"counted": counted, "rows": rows}


def balance(account):
    return Account.objects.filter(pk=account.pk).values_list("balance", flat=True).get()


__all__ = [
    "InsufficientBalance",
    "balance",
    "charge",
    "charged_messages",
    "correct",
    "month_volume",
    "most_for",
    "price_of",
    "rebuild_month_volume",
    "reconcile",
    "refund",
    "refund_reported",
    "top_up",
]
