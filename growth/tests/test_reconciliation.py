"""Reconciliation: the scheduled job proves balances and campaign counters add up, and alerts the Admins when not.

The hypothesis test drives random sequences of earn / approve / invalidate / redeem / void / adjust / admin edits
(stale full-row saves of members and campaigns) and checks both invariants after every step.
"""

import contextlib
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.models import Notification, TaskRun
from backoffice.tests.factories import UserFactory, admin, marketer, moderator
from growth import reconciliation
from growth.campaigns import RedemptionRefused, void_redemption
from growth.models import Campaign, Redemption
from growth.tasks import reconcile as reconcile_task
from growth.tests.factories import CampaignFactory, force_counters, redeem
from moderation.ledger import InsufficientPoints, post_entry
from moderation.models import RewardEntry, ScreenshotProof
from moderation.proofs import approve_proof, invalidate_reward
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_nothing_to_report_when_everything_adds_up():
    redeem(UserFactory(verified=True), CampaignFactory())
    admin()
    assert reconciliation.reconcile() == {"rows": 0, "balances": [], "campaigns": []}
    assert not Notification.objects.exists()


def test_a_balance_that_does_not_match_its_entries_alerts_the_admins():
    member, staff = UserFactory(), admin()
    User.objects.filter(pk=member.pk).update(points_balance=7)  # a hand edit in the database
    result = reconciliation.reconcile()
    assert result["balances"] == [{"user": member.pk, "balance": 7, "entries": 0}]
    alert = Notification.objects.get(user=staff)
    assert "1 balance(s)" in alert.subject and f"member {member.pk}" in alert.body
    User.objects.filter(pk=member.pk).update(points_balance=0)  # leave the suite's own ledger check green


def test_campaign_counters_that_do_not_match_their_redemptions_alert_the_admins():
    campaign, staff = CampaignFactory(), admin()
    redeem(UserFactory(verified=True), campaign)
    force_counters(campaign, uses_count=5)
    result = reconciliation.reconcile()
    assert [c["campaign"] for c in result["campaigns"]] == [campaign.pk]
    assert "1 campaign(s)" in Notification.objects.get(user=staff).subject


def test_counters_built_by_additions_and_voids_match_their_redemptions_to_the_cent():
    """SQLite keeps decimals as floats: 0.1 + 0.2 + 0.3 - 0.1 is 0.5000000000000001 there, not the 0.5 the rows sum to.

    The comparison is to the cent the amounts are kept in, so that float dust is not reported as a difference (on
    PostgreSQL the arithmetic is exact). A random interleaving of redeems and voids once failed on exactly this.
    """
    campaign = CampaignFactory(discount_value=Decimal("10"), points_cost=0, per_user_limit=5, budget=Decimal("100"))
    member = UserFactory(verified=True)
    first, _, _ = [redeem(member, campaign, cart_total=n, cart_reference=f"cart-{n}").redemption for n in (1, 2, 3)]
    void_redemption(first, actor=marketer(), reason="customer changed their mind")
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("0.50")
    assert reconciliation.find_differences() == {"balances": [], "campaigns": []}


def test_a_budget_one_cent_off_is_reported():
    campaign = CampaignFactory()
    redeem(UserFactory(verified=True), campaign)
    force_counters(campaign, budget_spent=campaign.budget_spent + Decimal("0.01"))
    assert [c["campaign"] for c in reconciliation.find_differences()["campaigns"]] == [campaign.pk]


def test_the_reconcile_job_is_recorded():
    reconcile_task.delay()
    assert TaskRun.objects.get(task_name="growth.tasks.reconcile").status == TaskRun.Status.SUCCEEDED


# --- random interleavings -----------------------------------------------------------------------------------------

OPERATIONS = ("earn", "approve", "invalidate", "redeem", "void", "adjust", "edit_member", "edit_campaign")
steps = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 2), st.integers(0, 1), st.integers(-30, 30)),
    min_size=1,
    max_size=12,
)


class World:
    def __init__(self):
        self.members = [UserFactory(verified=True) for _ in range(3)]
        self.campaigns = [
            CampaignFactory(discount_value=Decimal("20"), max_uses=4, budget=Decimal("50"), per_user_limit=2),
            CampaignFactory(
                discount_kind=Campaign.DiscountKind.FIXED,
                discount_value=Decimal("15"),
                points_cost=10,
                stackable=True,
                per_user_limit=3,
            ),
        ]
        self.moderator, self.admin, self.marketer = moderator(), admin(), marketer()

    def run(self, operation, who, which, amount):
        member, campaign = self.members[who], self.campaigns[which]
        proofs = ScreenshotProof.objects.filter(download__user=member).order_by("pk")
        if operation == "earn":
            ScreenshotProofFactory(download__user=member, download__app__points_reward=abs(amount) + 1)
        elif operation == "approve" and (proof := proofs.filter(status="pending").first()):
            approve_proof(proof=proof, moderator=self.moderator)
        elif operation == "invalidate" and (proof := proofs.filter(status="approved").last()):
            invalidate_reward(proof=proof, actor=self.admin, reason="random", allow_negative=amount % 2 == 0)
        elif operation == "redeem":
            redeem(member, campaign, cart_total=str(abs(amount) + 1), cart_reference=f"cart-{amount % 3}")
        elif operation == "void" and (
            redemption := Redemption.objects.filter(user=member, voided_at__isnull=True).last()
        ):
            void_redemption(redemption, actor=self.marketer, reason="random")
        elif operation == "adjust" and amount:
            post_entry(user=member, amount=amount, kind=RewardEntry.Kind.ADJUST, actor=self.admin, reason="random")
        elif operation == "edit_member":  # an admin's form read the member before a credit, saves after it
            stale = User.objects.get(pk=member.pk)
            post_entry(user=member, amount=5, kind=RewardEntry.Kind.ADJUST, actor=self.admin, reason="meanwhile")
            stale.first_name = f"Edited {amount}"
            stale.save()
        elif operation == "edit_campaign":  # a marketer's form read the campaign before a redemption
            stale = Campaign.objects.get(pk=campaign.pk)
            redeem(member, campaign, cart_total="40")
            stale.name = f"Edited {amount}"
            stale.save()


# derandomize: CI runs the same examples every time. A random run found SQLite's float dust in budget_spent (now
# compared to the cent; see test_counters_built_by_additions_and_voids_match_their_redemptions_to_the_cent); 400
# random examples then passed.
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_balances_and_campaign_counters_add_up_after_every_step(steps):
    world = World()
    for step in steps:
        with contextlib.suppress(RedemptionRefused, InsufficientPoints):  # a refusal must change nothing
            world.run(*step)
        assert reconciliation.find_differences() == {"balances": [], "campaigns": []}, step
