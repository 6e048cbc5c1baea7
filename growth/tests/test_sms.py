"""The Twilio backend drives the real twilio.rest.Client against a fake Twilio API on 127.0.0.1."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

from growth.sms import ConsoleSMSBackend, SMSError, send_sms

ACCOUNT_SID = "AC" + "0" * 32


class FakeTwilio(BaseHTTPRequestHandler):
    requests = []
    status = 201

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        FakeTwilio.requests.append({"path": self.path, "form": parse_qs(body), "auth": self.headers["Authorization"]})
        if FakeTwilio.status == 201:
            payload = {"sid": "SM" + "1" * 32, "status": "queued", "account_sid": ACCOUNT_SID}
        else:
            payload = {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}
        data = json.dumps(payload).encode()
        self.send_response(FakeTwilio.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_twilio(settings):
    FakeTwilio.requests, FakeTwilio.status = [], 201
    server = HTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "growth.sms.TwilioSMSBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, "secret-token"
    settings.TWILIO_FROM = "+15005550006"
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    yield FakeTwilio
    server.shutdown()
    server.server_close()


def test_twilio_backend_posts_the_message_with_the_account_credentials(fake_twilio):
    sid = send_sms("+15551230000", "code 123456")
    request = fake_twilio.requests[0]
    assert sid.startswith("SM")
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["form"] == {"To": ["+15551230000"], "From": ["+15005550006"], "Body": ["code 123456"]}
    assert request["auth"] == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:secret-token".encode()).decode()


def test_a_twilio_error_is_raised_as_an_sms_error(fake_twilio):
    fake_twilio.status = 400
    with pytest.raises(SMSError, match="not a valid phone number"):
        send_sms("+1", "code")


def test_the_console_backend_keeps_the_message_in_its_outbox():
    send_sms("+15551230000", "hello")
    assert ConsoleSMSBackend.outbox[-1] == {"to": "+15551230000", "body": "hello"}
