import pytest
import time_machine
from cryptography.fernet import InvalidToken
from django.db import IntegrityError, transaction
from django.utils import timezone

from smsconsole import crypto
from smsconsole.models import Application, TransitionError, create_application
from tests import factories


def test_a_new_application_is_created_not_yet_launched(shop):
    assert shop.status == Application.Status.CREATED
    assert shop.status_changed_at is None
    assert len(shop.app_key) == 32


@time_machine.travel("2026-03-01 09:00 +08:00", tick=False)
def test_it_launches_from_created_and_records_when(shop):
    shop.launch()

    shop.refresh_from_db()
    assert shop.status == Application.Status.LAUNCHED
    assert shop.status_changed_at == timezone.now()


def test_it_suspends_a_launched_application_and_launches_it_again(shop):
    shop.launch()
    shop.suspend()
    shop.refresh_from_db()
    assert shop.status == Application.Status.SUSPENDED

    shop.launch()
    shop.refresh_from_db()
    assert shop.status == Application.Status.LAUNCHED


def test_it_refuses_to_suspend_an_application_not_launched(shop):
    with pytest.raises(TransitionError):
        shop.suspend()
    shop.refresh_from_db()
    assert shop.status == Application.Status.CREATED


def test_it_refuses_to_launch_an_application_already_launched(shop):
    shop.launch()
    with pytest.raises(TransitionError):
        shop.launch()


def test_it_refuses_to_suspend_twice(shop):
    shop.launch()
    shop.suspend()
    with pytest.raises(TransitionError):
        shop.suspend()


def test_a_stale_copy_cannot_launch_an_application_launched_meanwhile(shop):
    stale = Application.objects.get(pk=shop.pk)
    shop.launch()
    changed_at = Application.objects.get(pk=shop.pk).status_changed_at

    with pytest.raises(TransitionError):
        stale.launch()

    assert Application.objects.get(pk=shop.pk).status_changed_at == changed_at
    assert stale.status == Application.Status.LAUNCHED


def test_the_secret_is_encrypted_at_rest(acme):
    app, plaintext = create_application(acme, "Orders")

    stored = Application.objects.filter(pk=app.pk).values_list("app_secret_encrypted", flat=True).get()
    assert plaintext not in stored
    assert crypto.decrypt(stored) == plaintext
    assert Application.objects.get(pk=app.pk).app_secret == plaintext


def test_each_application_gets_its_own_key_and_secret(acme):
    one, secret_one = create_application(acme, "One")
    two, secret_two = create_application(acme, "Two")

    assert one.app_key != two.app_key
    assert secret_one != secret_two


def test_resetting_replaces_the_stored_secret(shop):
    old = shop.app_secret

    plaintext = shop.reset_secret()

    shop.refresh_from_db()
    assert plaintext != old
    assert shop.app_secret == plaintext
    assert plaintext not in shop.app_secret_encrypted


def test_the_secret_cannot_be_read_with_another_encryption_key(shop, settings):
    settings.FIELD_ENCRYPTION_KEY = "a-different-key"
    with pytest.raises(InvalidToken):
        _ = shop.app_secret


def test_names_are_unique_per_account(acme, other_co):
    factories.create_application(other_co, "Shop")
    factories.create_application(acme, "Shop")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.create_application(acme, "Shop")
