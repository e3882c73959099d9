"""Showing a new secret (an application's, an access key's) exactly once, without storing it.

Right after a secret is issued, the next page about its object may show it, within a few
minutes, once. The session holds only that permission and its deadline; the secret stays where it
is stored encrypted. (Sessions are plain base64 in the database: a plaintext secret there sat
readable for up to two weeks.)
"""

import time

SHOWN_WITHIN = 600  # seconds


def _key(obj):
    return f"smsconsole:show-secret:{obj._meta.label_lower}:{obj.pk}"


def offer_once(request, obj):
    request.session[_key(obj)] = int(time.time()) + SHOWN_WITHIN


def take_offer(request, obj):
    """True once after offer_once(), within SHOWN_WITHIN seconds; the permission is used up."""
    deadline = request.session.pop(_key(obj), None)
    return isinstance(deadline, int) and deadline >= time.time()
