"""The one way the product makes an HTTP request to an address somebody typed in (feeds, downloads, webhooks).

Why: those addresses come from staff forms and task arguments, so a request must never reach the servers
behind our own firewall (server-side request forgery). Every request here:

- accepts http and https only;
- resolves the host itself and refuses when ANY resolved address is private, loopback, link-local,
  reserved, multicast or otherwise not global, unless it lies in `OUTBOUND_ALLOWED_NETWORKS`;
- connects to the address it checked (TLS still verifies the certificate for the host name), so a DNS
  answer that changes between the check and the connection cannot slip through;
- follows at most `OUTBOUND_MAX_REDIRECTS` redirects itself, checking each new address the same way;
- stops reading past `max_bytes` and gives up after `timeout` seconds in total;
- raises `OutboundRetryable` (network failure, timeout, 5xx, 429: worth trying later) or `OutboundRefused`
  (everything else: retrying cannot help). Their messages never say why a connection failed ("refused",
  "timed out", "no route"), so a failure cannot be used to scan ports; the cause is logged for operators.
"""

import dataclasses
import ipaddress
import logging
import socket
import time
from collections import deque
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

USER_AGENT = "rewards-backoffice/1.0"
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
CHUNK_BYTES = 64 * 1024


class OutboundError(Exception):
    """A request that did not give a usable answer. `status` is the HTTP status when the server answered."""

    def __init__(self, message, *, status=None):
        super().__init__(message)
        self.status = status


class OutboundRetryable(OutboundError):
    """The address could not be reached in time, or answered 5xx/429: trying again later may work."""


class OutboundRefused(OutboundError):
    """The request is not allowed or the answer is unusable (bad address, 4xx, too large): do not retry."""


@dataclasses.dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict  # lower-case names
    body: bytes
    url: str  # the final URL, after redirects


def _allowed_networks():
    return [ipaddress.ip_network(network, strict=False) for network in settings.OUTBOUND_ALLOWED_NETWORKS]


def address_is_allowed(address):
    """True for a global unicast address, or any address inside an allowed network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if any(ip in network for network in _allowed_networks() if network.version == ip.version):
        return True
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return address_is_allowed(str(mapped))
    return ip.is_global and not ip.is_multicast


def _resolve(host, port):
    """Every address the host resolves to; refuses the request when any of them is not allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        logger.info("outbound: cannot resolve %s: %s", host, exc)
        raise OutboundRetryable("The address could not be reached.") from None  # no cause in job tracebacks
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OutboundRetryable("The address could not be reached.")
    if not all(address_is_allowed(address) for address in addresses):
        logger.warning("outbound: refused %s, which resolves to %s", host, addresses)
        raise OutboundRefused("The address is not allowed: it points at a private or reserved network.")
    return addresses[0]


def _split(url):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused("The address is not a valid URL.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("Only http and https addresses are allowed.")
    if parts.username or parts.password:
        raise OutboundRefused("Addresses with a user name or password are not allowed.")
    port = port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, parts.netloc, path


def _read_body(response, max_bytes, deadline):
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise OutboundRetryable("The address took too long to answer.")
        chunk = response.read1(CHUNK_BYTES) if hasattr(response, "read1") else response.read(CHUNK_BYTES)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise OutboundRefused(f"The answer is larger than {max_bytes} bytes.")
        chunks.append(chunk)


def _send_once(method, url, body, headers, deadline, max_bytes):
    scheme, host, port, netloc, path = _split(url)
    address = _resolve(host, port)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise OutboundRetryable("The address took too long to answer.")
    timeout = urllib3.Timeout(connect=min(remaining, settings.OUTBOUND_CONNECT_TIMEOUT_SECONDS), read=remaining)
    pool_kwargs = {"timeout": timeout, "retries": False, "maxsize": 1}
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED", **pool_kwargs
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **pool_kwargs)
    request_headers = {"User-Agent": USER_AGENT, **(headers or {}), "Host": netloc.rsplit("@", 1)[-1]}
    try:
        response = pool.urlopen(
            method, path, body=body, headers=request_headers, redirect=False, retries=False, preload_content=False
        )
        try:
            status = response.status
            response_headers = {name.lower(): value for name, value in response.headers.items()}
            content = b"" if status in REDIRECT_STATUSES else _read_body(response, max_bytes, deadline)
        finally:
            response.release_conn()
    except OutboundError:
        raise
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        logger.info("outbound: %s %s failed: %r", method, url, exc)
        raise OutboundRetryable("The address could not be reached.") from None  # no cause in job tracebacks
    finally:
        pool.close()
    return status, response_headers, content


def request(
    url,
    *,
    method="GET",
    body=None,
    headers=None,
    timeout=None,
    max_bytes=None,
    max_redirects=None,
    raise_for_status=True,
):
    """Send one request through the checks above and return an `OutboundResponse`.

    With `raise_for_status` (the default) a 5xx/429 answer raises OutboundRetryable and any other non-2xx
    answer OutboundRefused; without it the caller gets every final answer (webhooks record the status).
    A 303, or a 301/302 to a POST, continues as a GET without body, as browsers do.
    """
    timeout = settings.OUTBOUND_TIMEOUT_SECONDS if timeout is None else timeout
    max_bytes = settings.OUTBOUND_MAX_BYTES if max_bytes is None else max_bytes
    max_redirects = settings.OUTBOUND_MAX_REDIRECTS if max_redirects is None else max_redirects
    deadline = time.monotonic() + timeout
    method = method.upper()
    headers = dict(headers or {})
    for _redirect in range(max_redirects + 1):
        status, response_headers, content = _send_once(method, url, body, headers, deadline, max_bytes)
        if status not in REDIRECT_STATUSES:
            break
        location = response_headers.get("location")
        if not location:
            raise OutboundRefused("The address redirected without saying where to.", status=status)
        next_url = urljoin(url, location)
        if urlsplit(next_url).netloc != urlsplit(url).netloc:
            headers = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
        if status == 303 or (status in (301, 302) and method == "POST"):
            method, body = "GET", None
        url = next_url
    else:
        raise OutboundRefused(f"The address redirected more than {max_redirects} times.")
    if raise_for_status and not 200 <= status < 300:
        if status >= 500 or status == 429:
            raise OutboundRetryable(f"The server answered HTTP {status}.", status=status)
        raise OutboundRefused(f"The server answered HTTP {status}.", status=status)
    return OutboundResponse(status=status, headers=response_headers, body=content, url=url)


def fetch(url, **kwargs):
    """GET `url` and return the response; see `request`."""
    return request(url, method="GET", **kwargs)


# --- message senders (SMS, Telegram): the provider a setting names, or a console stand-in ----------------------


def configured_sender(dotted_path):
    """An instance of the sender class a setting names (SMS_BACKEND, TELEGRAM_SENDER)."""
    return import_string(dotted_path)()


class ConsoleSender:
    """The stand-in for a provider (local demo, tests): logs each message and keeps the last ones in `outbox`, one
    per subclass, as the dicts the subclass records; returns a made-up message id."""

    label = "Message"
    outbox = deque(maxlen=200)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.outbox = deque(maxlen=200)

    def keep(self, to, text, message):
        logger.info("%s to %s: %s", self.label, to, text)
        self.outbox.append(message)
        return f"console-{len(self.outbox)}"
