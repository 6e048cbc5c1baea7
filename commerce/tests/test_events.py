"""backoffice.events: subscribers hear about an event only after the transaction commits."""

import pytest
from django.db import transaction
from wagtail import hooks

from backoffice import events
from backoffice.tests.factories import UserFactory
from growth.campaigns import RedemptionRefused
from growth.tests.factories import CampaignFactory, redeem


@pytest.fixture
def heard():
    seen = []
    with hooks.register_temporarily(events.EVENT_HOOK, lambda event, payload: seen.append((event, payload))):
        yield seen


@pytest.mark.django_db
def test_subscribers_hear_an_event_after_commit(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        events.publish("app.created", {"id": 1})
        assert heard == []
    assert heard == [("app.created", {"id": 1})]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_publishes_nothing(heard):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish("app.created", {"id": 1})
        raise RuntimeError
    assert heard == []


def test_an_unknown_event_is_a_programming_error():
    with pytest.raises(ValueError):
        events.publish("app.deleted", {})


@pytest.mark.django_db
def test_a_failing_subscriber_does_not_stop_the_others(heard):
    def broken(event, payload):
        raise RuntimeError("boom")

    with hooks.register_temporarily(events.EVENT_HOOK, broken):
        events.deliver("app.created", {"id": 2})
    assert heard == [("app.created", {"id": 2})]


@pytest.mark.django_db
def test_a_redemption_publishes_redemption_created_after_commit(heard, django_capture_on_commit_callbacks):
    member = UserFactory(verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        redemption = redeem(member, CampaignFactory(), cart_total="80").redemption
        assert heard == []
    assert [(event, payload["id"], payload["user_id"]) for event, payload in heard] == [
        ("redemption.created", redemption.pk, member.pk)
    ]


@pytest.mark.django_db
def test_a_refused_redemption_publishes_nothing(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RedemptionRefused):
        redeem(UserFactory(verified=True), CampaignFactory(min_cart_total=500), cart_total="80")
    assert heard == []
