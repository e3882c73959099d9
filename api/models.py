"""Account access keys: the key pair the management API (templates, signatures) is signed with.

The management SDK signs requests SDK-HMAC-SHA256 with an access key and a secret key and names
a project in the path; here the project is the account (its id). The secret is stored encrypted,
not hashed, because verifying an HMAC needs it.
"""

import secrets
import string

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smsconsole import crypto
from smsconsole.models import Account

_KEY_ALPHABET = string.ascii_uppercase + string.digits


def _new_access_key():
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(20))


class AccessKey(models.Model):
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="access_keys", verbose_name=_("account")
    )
    name = models.CharField(_("name"), max_length=64)
    access_key = models.CharField(_("access key"), max_length=32, unique=True, default=_new_access_key)
    secret_encrypted = models.TextField(editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("access key")
        verbose_name_plural = _("access keys")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.access_key})"

    @property
    def secret(self):
        return crypto.decrypt(self.secret_encrypted)

    @property
    def is_active(self):
        return self.revoked_at is None

    def revoke(self):
        """Compare-and-set: a key is revoked once; False when it already was."""
        now = timezone.now()
        done = AccessKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=now)
        if done:
            self.revoked_at = now
        return bool(done)


def create_access_key(account, name, user=None):
    """A new key of `account`; returns (key, plaintext secret) — the secret is shown once."""
    plaintext = secrets.token_urlsafe(30)
    key = AccessKey.objects.create(
        account=account, name=name, secret_encrypted=crypto.encrypt(plaintext), created_by=user
    )
    return key, plaintext
