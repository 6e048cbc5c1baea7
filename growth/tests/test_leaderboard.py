import pytest
from django.test import TestCase

from backoffice.tests.factories import UserFactory
from growth import referrals, selectors
from growth.models import Referral

pytestmark = pytest.mark.django_db


def refer(referrer, count):
    """Credit `count` new referrals, running the after-commit hooks (cache invalidation) as a real commit would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        for _ in range(count):
            referrals.credit_referral(
                referral=Referral.objects.create(referrer=referrer, referred=UserFactory(verified=True))
            )


def test_members_are_ranked_by_credited_referrals_and_ties_share_a_rank():
    first, tied_a, tied_b = (UserFactory(verified=True) for _ in range(3))
    refer(first, 3)
    refer(tied_a, 1)
    refer(tied_b, 1)
    rows = selectors.leaderboard_page(1)["rows"]
    assert [(row.user_id, row.rank, row.referrals) for row in rows] == [
        (first.pk, 1, 3),
        (tied_a.pk, 2, 1),
        (tied_b.pk, 2, 1),
    ]


def test_uncredited_referrals_do_not_count():
    referrer = UserFactory(verified=True)
    Referral.objects.create(referrer=referrer, referred=UserFactory())
    assert selectors.leaderboard_page(1)["rows"] == []
    assert selectors.own_rank(referrer) == (None, 0)


def test_the_leaderboard_is_paginated():
    for n in range(3):
        refer(UserFactory(verified=True), n + 1)
    first = selectors.leaderboard_page(1, per_page=2)
    second = selectors.leaderboard_page(2, per_page=2)
    assert (len(first["rows"]), first["has_next"]) == (2, True)
    assert ([row.rank for row in second["rows"]], second["has_next"]) == ([3], False)


def test_a_page_rank_accounts_for_ties_across_pages():
    refer(UserFactory(verified=True), 2)
    for _ in range(2):
        refer(UserFactory(verified=True), 1)
    assert [row.rank for row in selectors.leaderboard_page(2, per_page=2)["rows"]] == [2]


def test_the_cached_page_is_invalidated_when_a_referral_is_credited(django_assert_num_queries):
    leader = UserFactory(verified=True)
    refer(leader, 1)
    assert selectors.leaderboard_page(1)["rows"][0].referrals == 1
    with django_assert_num_queries(0):
        selectors.leaderboard_page(1)
    refer(leader, 1)
    assert selectors.leaderboard_page(1)["rows"][0].referrals == 2


def test_own_rank_follows_credits():
    leader, me = UserFactory(verified=True), UserFactory(verified=True)
    refer(leader, 2)
    refer(me, 1)
    assert selectors.own_rank(me) == (2, 1)
    refer(me, 2)
    assert selectors.own_rank(me) == (1, 3)
    assert selectors.own_rank(leader) == (2, 2)


def test_crediting_the_same_referral_twice_counts_once():
    referral = Referral.objects.create(referrer=UserFactory(verified=True), referred=UserFactory(verified=True))
    assert referrals.credit_referral(referral=referral) is True
    assert referrals.credit_referral(referral=referral) is False
    assert selectors.own_rank(referral.referrer) == (1, 1)
    referral.referrer.refresh_from_db()
    assert referral.referrer.points_balance == 50
