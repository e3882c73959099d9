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


def parse_ip_allowlist(text):
    """Splits an allow-list (one address or CIDR range a line) into (entries, invalid_entries)."""
    entries, invalid = [], []
    for line in (text or "").splitlines():
        entry = line.strip()
        if not entry:
            continue
        try:
            if "/" in entry:
                ipaddress.ip_network(entry, strict=True)
            else:
                ipaddress.ip_address(entry)
        except ValueError:
            invalid.append(entry)
        else:
            entries.append(entry)
    return entries, invalid


def address_allowed(address, allowlist_text):
    """True when the allow-list is empty or holds the address (an entry or within a range)."""
    entries, _invalid = parse_ip_allowlist(allowlist_text)
    if not entries:
        return True
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(entry, strict=False) for entry in entries)


def request_ip(request):
    """client_ip() for a Django request, with the deployment's TRUSTED_PROXY_COUNT."""
    from django.conf import settings

    return client_ip(request.META, settings.TRUSTED_PROXY_COUNT)
