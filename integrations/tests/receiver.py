"""A local HTTP server standing in for a webhook receiver (127.0.0.1 is allowed in the test settings)."""

from backoffice.testing.servers import ScriptedHTTPServer

HOOK = "/hook"


def webhook_receiver(statuses=(), delay=0.0):
    """Records every POST to HOOK (`.requests`, `.url(HOOK)`); `statuses` are answered in turn (then 200), each
    after `delay` seconds."""
    server = ScriptedHTTPServer()
    for status in [*statuses, 200]:
        server.respond(HOOK, status=status, delay=delay)
    return server
