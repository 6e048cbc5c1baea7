"""One fake HTTP server on 127.0.0.1 for tests of outbound calls (feeds, bots, webhooks).

    with FakeHTTPServer() as server:
        server.respond("/orders.json", body=b"[...]")              # 200 with this body
        server.respond("/fail", status=503, times=2)              # twice 503, then the next answer for that path
        server.respond("/slow", body=b"ok", delay=5)              # hangs 5 s before answering
        fetch(server.url("/orders.json"))
        server.requests  # [(method, path, headers, body), ...]

Answers for a path are served in order; the last one repeats. Unknown paths get 404.
"""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeHTTPServer:
    def __init__(self):
        self.answers, self.requests = {}, []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                with fake._lock:
                    fake.requests.append((self.command, self.path, dict(self.headers), body))
                    queue = fake.answers.get(path)
                    answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
                if answer is None:
                    answer = {"status": 404, "body": b"", "headers": {}, "delay": 0}
                if answer["delay"] and fake._stop.wait(answer["delay"]):
                    return
                try:
                    self.send_response(answer["status"])
                    for name, value in answer["headers"].items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer["body"])))
                    self.end_headers()
                    self.wfile.write(answer["body"])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def respond(self, path, *, body=b"", status=200, content_type="application/octet-stream", delay=0, times=1):
        """Queue `times` identical answers for `path` (the last queued answer repeats forever)."""
        if isinstance(body, str):
            body = body.encode()
        answer = {"status": status, "body": body, "headers": {"Content-Type": content_type}, "delay": delay}
        with self._lock:
            self.answers.setdefault(path, []).extend([answer] * times)
        return self

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def requests_to(self, path):
        return [request for request in self.requests if request[1].split("?", 1)[0] == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()  # release hanging handlers
        self.httpd.shutdown()
        self.httpd.server_close()
        time.sleep(0)
