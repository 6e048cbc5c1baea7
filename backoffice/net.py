"""The client's IP address, for rate limits and logs.

Why: behind a load balancer REMOTE_ADDR is the balancer, and X-Forwarded-For is written partly by the
client. Only the entries appended by our own proxies can be believed: with `TRUSTED_PROXY_COUNT = N`
(the number of proxies in front of the app), the client is the N-th address from the right of
X-Forwarded-For; anything to the left of it was sent by the client and is ignored. With 0 (the default,
no proxy) the header is ignored entirely. A header shorter than N (a request that bypassed a proxy)
falls back to its left-most entry, which is the best the proxies saw.
"""

import ipaddress

from django.conf import settings


def _valid_ip(value):
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return ""


def client_ip(request):
    """The address of the client that sent `request`, as a normalised string ("" when unknown)."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR", ""))
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    chosen = forwarded[-count] if len(forwarded) >= count else forwarded[0]
    return _valid_ip(chosen) or remote
