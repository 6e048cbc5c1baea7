"""page_of: the one way a page splits a long list."""

import pytest
from django.test import RequestFactory

from backoffice.models import Notification
from backoffice.pagination import page_of
from backoffice.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def notices(n):
    user = UserFactory()
    Notification.objects.bulk_create([Notification(user=user, subject=f"n{i}") for i in range(n)])
    return Notification.objects.order_by("pk")


def test_a_malformed_or_too_large_page_number_gives_the_first_or_last_page():
    items = notices(5)
    assert page_of(RequestFactory().get("/", {"page": "x"}), items, 2).number == 1
    assert page_of(RequestFactory().get("/", {"page": "99"}), items, 2).number == 3


def test_a_count_the_caller_knows_spares_the_count_query(django_assert_num_queries):
    items = notices(5)
    with django_assert_num_queries(1):  # the page's rows only
        page = page_of(RequestFactory().get("/", {"p": "2"}), items, 2, param="p", count=5)
        assert [n.subject for n in page.object_list] == ["n2", "n3"]
