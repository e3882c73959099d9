"""Encryption at rest for application secrets.

The secret must stay recoverable (X-WSSE request signatures are verified with it), so it is
encrypted with Fernet under a key derived from settings.FIELD_ENCRYPTION_KEY rather than hashed.
"""

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _fernet():
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"smsconsole.application-secret").derive(
        settings.FIELD_ENCRYPTION_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
