"""Membership.change_role and Membership.remove: an account never loses its last operator, also
when two operators act at the same moment (PostgreSQL)."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from smsconsole.models import Membership, TransitionError


def test_a_read_only_member_becomes_an_operator(bob):
    bob.membership.change_role("operator")
    assert Membership.objects.get(user=bob).role == "operator"


def test_the_last_operator_is_neither_demoted_nor_removed(alice, bob):
    with pytest.raises(TransitionError):
        alice.membership.change_role("read_only")
    with pytest.raises(TransitionError):
        alice.membership.remove()
    assert Membership.objects.get(user=alice).role == "operator"


def test_a_read_only_member_can_be_removed_while_one_operator_remains(alice, bob):
    bob.membership.remove()
    assert not Membership.objects.filter(user=bob).exists()
    bob.refresh_from_db()
    assert not bob.is_active


def test_another_accounts_operators_do_not_count(alice, charlie):
    with pytest.raises(TransitionError):
        alice.membership.change_role("read_only")


def test_an_unknown_role_is_refused(bob):
    with pytest.raises(ValueError):
        bob.membership.change_role("owner")


def test_removing_a_staff_member_keeps_their_admin_access(factories, acme, alice):
    staff = factories.create_user("stella", account=acme, role="read_only", staff=True)
    staff.membership.remove()
    staff.refresh_from_db()
    assert staff.is_active and staff.is_staff


def _wait_for_a_lock_wait(deadline=10.0):
    """Polls PostgreSQL until another session waits on a row lock."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        while time.monotonic() - started < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_operators_demoting_each_other_at_once_leave_one_operator(postgres_url, factories):
    account = factories.create_account("Race")
    first = factories.create_user("first", account=account).membership
    second = factories.create_user("second", account=account).membership
    first_locked, release, outcome = threading.Event(), threading.Event(), {}

    def demote_first():
        try:
            with transaction.atomic():
                first.change_role("read_only")
                first_locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    def demote_second():
        try:
            second.change_role("read_only")
            outcome["second"] = "demoted"
        except TransitionError:
            outcome["second"] = "refused"
        finally:
            connections.close_all()

    one = threading.Thread(target=demote_first)
    one.start()
    assert first_locked.wait(10)
    two = threading.Thread(target=demote_second)
    two.start()
    try:
        # The second demotion waits for the first's lock on the operators, then sees one operator left.
        assert _wait_for_a_lock_wait()
    finally:
        release.set()
        one.join(10)
        two.join(10)
    assert outcome == {"second": "refused"}
    assert list(
        Membership.objects.filter(account=account, role="operator").values_list("user__username", flat=True)
    ) == ["second"]
