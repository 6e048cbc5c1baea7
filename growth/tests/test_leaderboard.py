import html
import re

import pytest
from django.test import TestCase
from django.urls import reverse

from backoffice.tests.factories import UserFactory
from growth import referrals, selectors
from growth.models import Referral, ReferrerScore

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
    rows = selectors.leaderboard_page()["rows"]
    assert [(row.user_id, row.rank, row.referrals) for row in rows] == [
        (first.pk, 1, 3),
        (tied_a.pk, 2, 1),
        (tied_b.pk, 2, 1),
    ]


def test_uncredited_referrals_do_not_count():
    referrer = UserFactory(verified=True)
    Referral.objects.create(referrer=referrer, referred=UserFactory())
    assert selectors.leaderboard_page()["rows"] == []
    assert selectors.own_rank(referrer) == (None, 0)


def scored(*scores):
    """Members with these credited-referral counts, written straight to the scores the board reads."""
    users = [UserFactory() for _ in scores]
    ReferrerScore.objects.bulk_create(
        ReferrerScore(user=user, credited_referrals=score) for user, score in zip(users, scores, strict=True)
    )
    return users


def expected_board():
    """Brute force: board order (score desc, id) and competition ranks (ties share, the next rank skips)."""
    scores = sorted(
        ReferrerScore.objects.filter(credited_referrals__gt=0).values_list("credited_referrals", "user_id"),
        key=lambda row: (-row[0], row[1]),
    )
    return [(1 + sum(other > score for other, _ in scores), user_id, score) for score, user_id in scores]


def walk(per_page, *, backwards=False):
    """Every page from the top by Next (then back up by Previous): the pages in the order they were shown."""
    pages = [selectors.leaderboard_page(per_page=per_page)]
    while pages[-1]["next"]:
        pages.append(selectors.leaderboard_page(pages[-1]["next"], per_page=per_page))
    if backwards:
        pages = [pages[-1]]
        while pages[-1]["previous"]:
            pages.append(selectors.leaderboard_page(pages[-1]["previous"], per_page=per_page))
        pages.reverse()
    return pages


def flat(pages):
    return [(row.rank, row.user_id, row.referrals) for page in pages for row in page["rows"]]


# Long tie groups crossing page edges, a tie at the very top, a single-row tail, members with no credit.
TIED_SCORES = [9, 9, 7, 5, 5, 5, 5, 5, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0]


@pytest.mark.parametrize("per_page", [1, 2, 3, 5, 7, 20])
def test_next_links_walk_the_whole_board_once_in_order_with_ranks_across_ties(per_page):
    scored(*TIED_SCORES)
    pages = walk(per_page)
    assert flat(pages) == expected_board()
    assert all(len(page["rows"]) == per_page for page in pages[:-1])
    assert [row.position for page in pages for row in page["rows"]] == list(range(1, len(TIED_SCORES) - 1))


@pytest.mark.parametrize("per_page", [1, 2, 3, 5, 7])
def test_previous_links_walk_back_to_the_top_through_the_same_pages(per_page):
    scored(*TIED_SCORES)
    forward = walk(per_page)
    backward = walk(per_page, backwards=True)
    assert [flat([page]) for page in backward] == [flat([page]) for page in forward]
    assert backward[0]["previous"] is None


def test_a_cursor_minted_before_a_credit_is_recounted_so_ranks_stay_right():
    members = scored(5, 4, 3, 2, 1)
    second_page = selectors.leaderboard_page(per_page=2)["next"]
    ReferrerScore.objects.filter(user=members[4]).update(credited_referrals=10)  # the last one leaps to the top
    selectors.invalidate_leaderboard()
    rows = selectors.leaderboard_page(second_page, per_page=2)["rows"]
    assert [(row.rank, row.user_id) for row in rows] == [(4, members[2].pk), (5, members[3].pk)]


def test_a_cursor_this_site_did_not_sign_is_refused():
    scored(3, 2, 1)
    cursor = selectors.leaderboard_page(per_page=1)["next"]
    forged = cursor.replace(cursor[1], "x" if cursor[1] != "x" else "y", 1)
    with pytest.raises(selectors.InvalidLeaderboardCursor):
        selectors.leaderboard_page(forged, per_page=1)


def test_the_page_view_follows_its_next_link_and_answers_a_bad_cursor_with_the_top_and_400(client):
    scored(*[30 - n for n in range(25)])
    first = client.get(reverse("leaderboard"))
    next_link = re.search(r'href="(\?cursor=[^"]+)" rel="next"', first.content.decode()).group(1)
    second = client.get(reverse("leaderboard") + html.unescape(next_link))
    assert [row.rank for row in second.context["board"]["rows"]] == list(range(21, 26))
    assert "Places 21–25" in second.content.decode()
    bad = client.get(reverse("leaderboard"), {"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert bad.context["board"]["rows"][0].rank == 1


def test_a_deep_page_costs_a_constant_few_queries(django_assert_max_num_queries):
    scored(*([4] * 30 + [2] * 30 + [1] * 30))
    cursor = selectors.leaderboard_page(per_page=20)["next"]
    for _ in range(3):
        cursor = selectors.leaderboard_page(cursor, per_page=20)["next"]
    with django_assert_max_num_queries(2):
        selectors.leaderboard_page_uncached(cursor, per_page=20, version=selectors._leaderboard_version())


def test_the_cached_page_is_invalidated_when_a_referral_is_credited(django_assert_num_queries):
    leader = UserFactory(verified=True)
    refer(leader, 1)
    assert selectors.leaderboard_page()["rows"][0].referrals == 1
    with django_assert_num_queries(0):
        selectors.leaderboard_page()
    refer(leader, 1)
    assert selectors.leaderboard_page()["rows"][0].referrals == 2


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
