"""Local fake servers on 127.0.0.1 for failure tests: one that never answers, a refused port, a fixed HTTP reply,
and a scripted HTTP server whose answers change per path and call."""

import contextlib
import http.server
import socket
import threading
from typing import NamedTuple


@contextlib.contextmanager
def silent_server():
    """A TCP port that accepts connections and never says a word (an SMTP or HTTP server that hangs). Yields the
    port; the accepted connections are held open until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def refused_port():
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def http_server(status=200, body=b"{}", content_type="application/json"):
    """An HTTP server answering every request with `status` and `body`; yields (base_url, requests seen)."""
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            requests.append({"method": self.command, "path": self.path, "body": self.rfile.read(length)})
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", requests
    finally:
        server.shutdown()
        server.server_close()


class Request(NamedTuple):
    """One request a fake server received."""

    method: str
    path: str
    headers: dict
    body: bytes


class ScriptedHTTPServer:
    """An HTTP server answering each path from a script of answers (feeds that fail, then work; APIs that hang).

        with ScriptedHTTPServer() as server:
            server.respond("/orders.json", body=b"[...]")   # 200 with this body
            server.respond("/feed", status=503, times=2)     # twice 503, then the next answer queued for it
            server.respond("/slow", body=b"ok", delay=5)     # hangs 5 s before answering
            server.respond("/drip", body=b"x" * 400, drip=0.1)  # sends the body 10 bytes every 0.1 s
            server.respond("/go", status=302, headers={"Location": "/b"})
            server.url("/feed"); server.requests_to("/feed")  # [Request(method, path, headers, body), ...]

    Answers for a path are served in order and the last one repeats; unknown paths get 404.
    """

    def __init__(self):
        self.answers, self.requests = {}, []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                with fake._lock:
                    fake.requests.append(Request(self.command, self.path, dict(self.headers), body))
                    queue = fake.answers.get(path)
                    answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
                if answer is None:
                    answer = {"status": 404, "body": b"", "headers": {}, "delay": 0, "drip": 0}
                if answer["delay"] and fake._stop.wait(answer["delay"]):
                    return
                try:
                    self.send_response(answer["status"])
                    for name, value in answer["headers"].items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer["body"])))
                    self.end_headers()
                    self._write(answer["body"], answer["drip"])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _write(self, body, drip):
                if not drip:
                    self.wfile.write(body)
                    return
                for start in range(0, len(body), 10):
                    self.wfile.write(body[start : start + 10])
                    self.wfile.flush()
                    if fake._stop.wait(drip):
                        return

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def respond(
        self,
        path,
        *,
        body=b"",
        status=200,
        content_type="application/octet-stream",
        headers=None,
        delay=0,
        drip=0,
        times=1,
        replace=False,
    ):
        """Queue `times` identical answers for `path` (the last queued answer repeats forever); `replace` drops the
        answers still queued for it first."""
        if isinstance(body, str):
            body = body.encode()
        headers = {"Content-Type": content_type, **(headers or {})}
        answer = {"status": status, "body": body, "headers": headers, "delay": delay, "drip": drip}
        with self._lock:
            queue = self.answers.setdefault(path, [])
            if replace:
                queue.clear()
            queue.extend([answer] * times)
        return self

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def requests_to(self, path):
        return [request for request in self.requests if request.path.split("?", 1)[0] == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()  # release hanging handlers
        self.httpd.shutdown()
        self.httpd.server_close()
