"""Services raise DomainError with a code; the API's one handler picks the HTTP status from one table."""

import pytest
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from backoffice.api import DOMAIN_ERROR_DEFAULT_STATUS, ERROR_STATUS
from backoffice.errors import DomainError


class Raises(APIView):
    authentication_classes = []
    throttle_classes = []
    permission_classes = []
    error = None

    def get(self, request):
        raise self.error


def answer(error):
    return Raises.as_view(error=error)(APIRequestFactory().get("/"))


def test_a_domain_error_is_rendered_in_the_one_error_shape():
    response = answer(DomainError("budget_exhausted", "This campaign's budget is spent.", {"left": 0}))
    assert response.status_code == 409
    assert response.data == {
        "error": {"code": "budget_exhausted", "message": "This campaign's budget is spent.", "details": {"left": 0}}
    }


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("idempotency_key_required", 400),
        ("campaign_exhausted", 409),
        ("insufficient_points", 409),
        ("idempotency_key_reused", 409),
        ("campaign_expired", 422),
        ("user_not_eligible", 422),
    ],
)
def test_the_documented_codes_keep_their_statuses(code, status):
    assert ERROR_STATUS[code] == status
    assert answer(DomainError(code, "no")).status_code == status


def test_an_unlisted_code_answers_the_default_status():
    assert answer(DomainError("something_new", "no")).status_code == DOMAIN_ERROR_DEFAULT_STATUS == 422


def test_a_subclass_may_declare_its_code_once():
    class Closed(DomainError):
        code = "closed"

    error = Closed(message="It is closed.")
    assert (error.code, str(error), error.details) == ("closed", "It is closed.", {})
