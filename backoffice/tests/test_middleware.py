import logging
import re

import pytest
from django.http import HttpResponse

from backoffice.middleware import RequestIdLogFilter, RequestIdMiddleware
from catalog.tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def test_an_api_query_with_a_nul_character_is_a_clear_400_in_the_error_shape(client):
    response = client.get("/api/apps/", {"category": "games\x00"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_page_query_with_a_nul_character_is_a_400(client):
    assert client.get("/apps/", {"category": "\x00"}).status_code == 400


def test_ordinary_queries_pass_through(client):
    category = CategoryFactory(slug="games")
    assert client.get("/api/apps/", {"category": category.slug}).status_code == 200


def test_every_response_carries_a_new_request_id(client):
    first, second = client.get("/healthz"), client.get("/accounts/login/")
    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_load_balancers_request_id_is_kept(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234.abc")["X-Request-ID"] == "lb-1234.abc"


def test_a_hostile_request_id_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="x\r\nSet-Cookie: a=b")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_log_records_written_during_a_request_carry_its_id(rf):
    seen = []

    def view(request):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "msg", None, None)
        RequestIdLogFilter().filter(record)
        seen.append(record.request_id)
        return HttpResponse()

    response = RequestIdMiddleware(view)(rf.get("/", HTTP_X_REQUEST_ID="abc-1"))
    assert seen == ["abc-1"] == [response["X-Request-ID"]]
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "msg", None, None)
    RequestIdLogFilter().filter(outside)
    assert outside.request_id == "-"
