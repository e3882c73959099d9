"""The client's IP address: the one rule the login throttle, the audit log and the API's
allow-lists use. `client_ip` needs no Django; `request_ip` reads the deployment's setting.

Behind N reverse proxies (TRUSTED_PROXY_COUNT), the client is the Nth address from the right of
X-Forwarded-For: the proxies append what they saw, while anything further left was written by the
client and may be forged. With no proxy the TCP peer (REMOTE_ADDR) is the client.
"""

import ipaddress


def client_ip(meta, trusted_proxies=0):
    """The client's address from a WSGI environ (request.META), or None if it is not an address."""
    address = meta.get("REMOTE_ADDR", "")
    if trusted_proxies > 0:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= trusted_proxies:
            address = forwarded[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def request_ip(request):
    """client_ip() for a Django request, with the deployment's TRUSTED_PROXY_COUNT."""
    from django.conf import settings

    return client_ip(request.META, settings.TRUSTED_PROXY_COUNT)
