"""The one outbound HTTP helper: only public addresses, redirects re-checked, limits, errors without detail."""

import contextlib
import socket
import time

import pytest

from backoffice import outbound
from backoffice.testing.servers import ScriptedHTTPServer


@pytest.fixture
def serve():
    """serve({path: (status, headers, body)}, drip=seconds per 10 bytes sent): a server on 127.0.0.1."""
    with contextlib.ExitStack() as servers:

        def start(routes, drip=0.0):
            server = servers.enter_context(ScriptedHTTPServer())
            for path, (status, headers, body) in routes.items():
                server.respond(path, status=status, headers=headers, body=body, drip=drip)
            return server

        yield start


@pytest.fixture
def no_allow_list(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_allowed_address_is_fetched(serve):
    server = serve({"/list": (200, {"Content-Type": "text/csv"}, b"a,b\n1,2\n")})
    response = outbound.fetch(server.url("/list"))
    assert (response.status, response.body, response.headers["content-type"]) == (200, b"a,b\n1,2\n", "text/csv")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://224.0.0.1/",
        "http://2130706433/",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(no_allow_list, url):
    with pytest.raises(outbound.OutboundRefused, match="not allowed"):
        outbound.fetch(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/", "http://", "x"])
def test_only_http_and_https_are_allowed(url):
    with pytest.raises(outbound.OutboundRefused, match="http and https"):
        outbound.fetch(url)


def test_a_host_name_is_refused_when_any_of_its_addresses_is_private(no_allow_list, monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ("93.184.216.34", "10.0.0.7")]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(outbound.OutboundRefused, match="not allowed"):
        outbound.fetch("http://feed.example.com/list")


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(serve, monkeypatch):
    """DNS rebinding: the name is resolved once; the connection uses that answer, with the Host header kept."""
    server = serve({"/list": (200, {}, b"ok")})
    port = server.httpd.server_address[1]
    lookups = []

    def resolve(host, port_, *args, **kwargs):
        if host != "127.0.0.1":  # an address literal needs no lookup
            lookups.append(host)
        ip = "127.0.0.1" if len(lookups) <= 1 else "10.0.0.7"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port_))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert outbound.fetch(f"http://feed.example.com:{port}/list").body == b"ok"
    assert lookups == ["feed.example.com"]
    assert server.requests[0].headers["Host"] == f"feed.example.com:{port}"


def test_a_redirect_to_a_private_address_is_refused(serve, settings):
    server = serve({"/go": (302, {"Location": "http://10.0.0.7/secret"}, b"")})
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with pytest.raises(outbound.OutboundRefused, match="not allowed"):
        outbound.fetch(server.url("/go"))


def test_redirects_are_followed_and_limited(serve, settings):
    server = serve({"/a": (301, {"Location": "/b"}, b""), "/b": (200, {}, b"there")})
    assert outbound.fetch(server.url("/a")).body == b"there"
    loop = serve({"/loop": (302, {"Location": "/loop"}, b"")})
    settings.OUTBOUND_MAX_REDIRECTS = 3
    with pytest.raises(outbound.OutboundRefused, match="more than 3"):
        outbound.fetch(loop.url("/loop"))
    assert len(loop.requests) == 4


def test_an_answer_larger_than_the_limit_is_refused(serve):
    server = serve({"/big": (200, {}, b"x" * 5000)})
    with pytest.raises(outbound.OutboundRefused, match="larger than 1000 bytes"):
        outbound.fetch(server.url("/big"), max_bytes=1000)


@pytest.mark.slow  # waits out a timeout
def test_a_slow_answer_is_cut_off_at_the_total_time_limit(serve):
    server = serve({"/slow": (200, {}, b"x" * 400)}, drip=0.1)  # 4 s in 10-byte drips
    started = time.monotonic()
    with pytest.raises(outbound.OutboundRetryable, match="too long"):
        outbound.fetch(server.url("/slow"), timeout=1)
    assert time.monotonic() - started < 2.5


def test_a_closed_port_and_an_unknown_host_give_the_same_message_with_no_detail(monkeypatch):
    with pytest.raises(outbound.OutboundRetryable) as closed:
        outbound.fetch(f"http://127.0.0.1:{closed_port()}/")
    with pytest.raises(outbound.OutboundRetryable) as unknown:
        outbound.fetch("http://no-such-host.invalid/")
    assert str(closed.value) == str(unknown.value) == "The address could not be reached."
    assert closed.value.__cause__ is None and closed.value.__suppress_context__


def test_server_errors_are_retryable_and_client_errors_are_not(serve):
    server = serve({"/down": (503, {}, b""), "/busy": (429, {}, b""), "/gone": (404, {}, b"")})
    with pytest.raises(outbound.OutboundRetryable, match="HTTP 503"):
        outbound.fetch(server.url("/down"))
    with pytest.raises(outbound.OutboundRetryable, match="HTTP 429"):
        outbound.fetch(server.url("/busy"))
    with pytest.raises(outbound.OutboundRefused, match="HTTP 404") as gone:
        outbound.fetch(server.url("/gone"))
    assert gone.value.status == 404


def test_a_post_sends_its_body_and_headers_and_can_return_any_status(serve):
    server = serve({"/hook": (410, {}, b"no")})
    response = outbound.request(
        server.url("/hook"),
        method="POST",
        body=b'{"event": "x"}',
        headers={"Content-Type": "application/json", "X-Signature": "abc"},
        raise_for_status=False,
    )
    method, path, headers, body = server.requests[0]
    assert (method, path, body, response.status) == ("POST", "/hook", b'{"event": "x"}', 410)
    assert headers["X-Signature"] == "abc"
