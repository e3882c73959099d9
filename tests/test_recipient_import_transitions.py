"""A recipient import's states move by compare-and-set: the import task and the operator's cancel
race, the first move wins, and a cancel is never overwritten by the task failing or completing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import importer
from campaigns.models import Recipient, RecipientImport
from campaigns.recipient_files import FileProblem
from smsconsole.models import TransitionError
from tests.import_helpers import create_import

R = RecipientImport.Status

# method → {status it is allowed from: status it moves to}; every other status refuses it.
TRANSITIONS = {
    "claim": {R.PENDING: R.RUNNING},
    "cancel": {R.PENDING: R.CANCELLED, R.RUNNING: R.CANCELLED},
    "fail": {R.PENDING: R.FAILED, R.RUNNING: R.FAILED},
    "complete": {R.RUNNING: R.COMPLETED},
}
CASES = [
    pytest.param(method, status, allowed.get(status), id=f"{method} from {status}")
    for method, allowed in TRANSITIONS.items()
    for status in R.values
]
WATCHED = ["status", "error_code", "accepted", "started_at", "finished_at"]


def row(imp):
    return dict(RecipientImport.objects.filter(pk=imp.pk).values(*WATCHED).get())


def call(imp, method):
    if method == "claim":
        # A claim that loses is not an error: the task just has nothing to do.
        if not imp.claim():
            raise TransitionError("not claimed")
    elif method == "fail":
        imp.fail("malformed")
    elif method == "complete":
        imp.complete(accepted=3)
    else:
        imp.cancel()


@pytest.mark.parametrize(("method", "status", "moves_to"), CASES)
def test_each_transition_moves_only_from_its_allowed_states(acme, shop, method, status, moves_to):
    imp = create_import(acme, shop, status=status)
    before = row(imp)

    if moves_to is None:
        with pytest.raises(TransitionError):
            call(imp, method)
        assert row(imp) == before
    else:
        call(imp, method)
        assert row(imp)["status"] == imp.status == moves_to


def test_a_failure_after_a_cancel_leaves_the_import_cancelled(acme, shop):
    seen_by_task = create_import(acme, shop, status=R.RUNNING)
    RecipientImport.objects.get(pk=seen_by_task.pk).cancel()

    with pytest.raises(TransitionError):
        seen_by_task.fail("malformed")

    stored = RecipientImport.objects.get(pk=seen_by_task.pk)
    assert (stored.status, stored.error_code) == (R.CANCELLED, "")


def test_a_completion_after_a_cancel_leaves_the_import_cancelled(acme, shop):
    seen_by_task = create_import(acme, shop, status=R.RUNNING)
    RecipientImport.objects.get(pk=seen_by_task.pk).cancel()

    with pytest.raises(TransitionError):
        seen_by_task.complete(accepted=3)

    stored = RecipientImport.objects.get(pk=seen_by_task.pk)
    assert (stored.status, stored.accepted) == (R.CANCELLED, 0)


def cancelled_midway(outcome):
    """An Importer.run that the operator cancels before it ends with `outcome`."""

    def run(self):
        RecipientImport.objects.get(pk=self.imp.pk).cancel()
        raise outcome

    return run


def test_an_import_whose_file_fails_after_a_cancel_is_reported_cancelled(acme, shop, monkeypatch):
    imp = create_import(acme, shop)
    monkeypatch.setattr(importer.Importer, "run", cancelled_midway(FileProblem("malformed")))

    result = importer.run_import(imp.pk)

    assert result == {"import": imp.pk, "cancelled": True}
    stored = RecipientImport.objects.get(pk=imp.pk)
    assert (stored.status, stored.error_code) == (R.CANCELLED, "")


def test_an_import_that_crashes_after_a_cancel_stays_cancelled_and_the_crash_is_raised(acme, shop, monkeypatch):
    imp = create_import(acme, shop)
    monkeypatch.setattr(importer.Importer, "run", cancelled_midway(RuntimeError("disk gone")))

    with pytest.raises(RuntimeError):
        importer.run_import(imp.pk)

    stored = RecipientImport.objects.get(pk=imp.pk)
    assert (stored.status, stored.error_code) == (R.CANCELLED, "")


def test_an_import_cancelled_while_it_finishes_keeps_no_rows(acme, shop, monkeypatch):
    imp = create_import(acme, shop, data=b"13800138000\n13900139000\n")
    real_finish = importer.Importer.finish

    def finish(self, has_header):
        RecipientImport.objects.filter(pk=self.imp.pk).update(status=R.CANCELLED)  # the operator, just now
        return real_finish(self, has_header)

    monkeypatch.setattr(importer.Importer, "finish", finish)

    assert importer.run_import(imp.pk) == {"import": imp.pk, "cancelled": True}
    assert RecipientImport.objects.get(pk=imp.pk).status == R.CANCELLED
    assert not Recipient.objects.filter(recipient_import=imp).exists()


def test_the_sweeper_spares_an_import_that_wrote_progress_after_it_looked(acme, shop):
    silent_since = timezone.now() - timedelta(minutes=15)
    imp = create_import(acme, shop, status=R.RUNNING, progress_at=silent_since - timedelta(minutes=1))
    seen_by_sweeper = RecipientImport.objects.get(pk=imp.pk)
    RecipientImport.objects.get(pk=imp.pk).record_progress(rows_read=20_000)  # the worker is alive

    with pytest.raises(TransitionError):
        seen_by_sweeper.fail("interrupted", silent_since=silent_since)

    stored = RecipientImport.objects.get(pk=imp.pk)
    assert (stored.status, stored.rows_read, stored.error_code) == (R.RUNNING, 20_000, "")


def test_progress_is_not_written_to_a_cancelled_import(acme, shop):
    imp = create_import(acme, shop, status=R.CANCELLED)

    assert imp.record_progress(rows_read=5) is False
    assert RecipientImport.objects.get(pk=imp.pk).rows_read == 0
