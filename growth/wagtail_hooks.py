from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import modelform_factory
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from wagtail import hooks
from wagtail.admin.ui.tables import DateColumn
from wagtail.admin.views.generic.models import CreateView, DeleteView, EditView, IndexView, InspectView
from wagtail.admin.viewsets.model import ModelViewSet

from backoffice import viewsets
from backoffice.viewsets import home_panel

from . import campaigns, selectors
from .admin_forms import CampaignForm
from .models import Campaign, Redemption, Referral


class CampaignInspectView(InspectView):
    """The campaign's settings and a preview of who is eligible right now (count and a sample)."""

    template_name = "growth/admin/campaign_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["eligible"] = campaigns.eligible_users_preview(self.object)
        return context


class CampaignCreateView(CreateView):
    def save_instance(self):
        instance = campaigns.create_campaign(campaign=self.form.save(commit=False), actor=self.request.user)
        self.form.save_m2m()
        return instance


class CampaignEditView(EditView):
    """Saves through the service: limits checked against the locked counters, the counters never written back."""

    def save_instance(self):
        try:
            instance = campaigns.update_campaign(campaign=self.form.save(commit=False), actor=self.request.user)
        except ValidationError as error:
            self.form._update_errors(error)
            raise
        self.form.save_m2m()
        return instance

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ValidationError:
            return self.form_invalid(form)


class CampaignDeleteView(DeleteView):
    """A redeemed campaign is part of the record: it can be deactivated, not deleted."""

    def form_valid(self, form):
        if self.object.redemptions.exists():
            messages.error(
                self.request, "This campaign has redemptions, so it cannot be deleted. Deactivate it instead."
            )
            return redirect("campaigns:edit", self.object.pk)
        return super().form_valid(form)


class CampaignIndexView(viewsets.IndexView):
    """The listing shows each campaign's uses: summed over its counter shards in the listing's one query."""

    def get_base_queryset(self):
        return super().get_base_queryset().with_counters()


class CampaignViewSet(viewsets.ModelViewSet):
    model = Campaign
    name = "campaigns"
    index_view_class = CampaignIndexView
    icon = "tag"
    menu_label = "Campaigns"
    menu_order = 300
    add_to_admin_menu = True
    inspect_view_enabled = True
    inspect_view_class = CampaignInspectView
    add_view_class = CampaignCreateView
    edit_view_class = CampaignEditView
    delete_view_class = CampaignDeleteView
    list_display = ["name", "discount_kind", "discount_value", "starts_at", "ends_at", "uses_count", "active"]
    list_filter = ["active", "discount_kind", "audience"]
    search_fields = ["name"]
    form_fields = list(campaigns.CAMPAIGN_SETTINGS)
    inspect_view_fields = [*form_fields, "uses_count", "budget_spent", "created_by", "created_at"]

    def get_form_class(self, for_update=False):
        return modelform_factory(
            self.model, form=CampaignForm, fields=self.form_fields, formfield_callback=self.formfield_for_dbfield
        )


class ReferralIndexView(IndexView):
    queryset = Referral.objects.select_related("referrer", "referred")


class RedemptionIndexView(IndexView):
    queryset = Redemption.objects.select_related("campaign", "user")


class RedemptionInspectView(InspectView):
    """The redemption and, for who may void it, the void form (reason required; in the redemption's history)."""

    template_name = "growth/admin/redemption_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_void"] = self.request.user.has_perm(campaigns.VOID_PERM) and not self.object.voided
        return context


@require_POST
def void_redemption_view(request, pk):
    if not request.user.has_perm(campaigns.VOID_PERM):
        raise PermissionDenied
    redemption = get_object_or_404(Redemption, pk=pk)
    try:
        campaigns.void_redemption(redemption, actor=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except campaigns.RedemptionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Voided: the use, the budget and {redemption.points_cost} points were given back.")
    return redirect("redemptions:inspect", pk)


class ReferralViewSet(ModelViewSet):
    """Read-only for marketers and admins: nobody holds add/change/delete on referrals."""

    model = Referral
    name = "referrals"
    index_view_class = ReferralIndexView
    icon = "group"
    menu_label = "Referrals"
    menu_order = 310
    add_to_admin_menu = True
    inspect_view_enabled = True
    list_display = ["referrer", "referred", "created_at", "credited_at"]
    list_filter = ["created_at", "credited_at"]
    search_fields = ["referrer__email", "referred__email"]
    form_fields = []
    list_export = ["referrer", "referred", "created_at", "credited_at"]


# What staff see of a redemption (its page) and export (the listing, without who voided it).
REDEMPTION_FIELDS = [
    "campaign",
    "user",
    *Redemption.CART_FIELDS,
    "created_at",
    "voided_at",
    "voided_by",
    "void_reason",
]


class RedemptionViewSet(viewsets.ModelViewSet):
    """Read-only for marketers and admins: redemptions are made only by members through the service."""

    model = Redemption
    name = "redemptions"
    index_view_class = RedemptionIndexView
    inspect_view_class = RedemptionInspectView
    icon = "form"
    menu_label = "Redemptions"
    menu_order = 320
    add_to_admin_menu = True
    inspect_view_enabled = True
    list_display = [
        "campaign",
        "user",
        "cart_reference",
        "cart_total",
        "discount_amount",
        "voucher_code",
        DateColumn("created_at", label="When", sort_key="created_at"),
        DateColumn("voided_at", label="Voided", sort_key="voided_at"),
    ]
    list_filter = ["campaign", "created_at", "voided_at"]
    search_fields = ["user__email", "campaign__name", "voucher_code", "cart_reference"]
    form_fields = []
    inspect_view_fields = REDEMPTION_FIELDS
    list_export = [field for field in REDEMPTION_FIELDS if field != "voided_by"]

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("void/<int:pk>/", void_redemption_view, name="void")]


@hooks.register("register_admin_viewset")
def register_growth_viewsets():
    return [CampaignViewSet(), ReferralViewSet(), RedemptionViewSet()]


@hooks.register("moderation_user_history_sections")
def referrals_section(member):
    """The referrals a user made, on the staff user-history page (moderation cannot import growth)."""
    referrals = selectors.referrals_made_by(member)[:200]
    return {
        "title": "Referrals",
        "columns": ["Referred user", "Signed up", "Credited"],
        "rows": [
            [referral.referred.email, referral.created_at, referral.credited_at or "not yet"] for referral in referrals
        ],
    }


@home_panel(order=20, permission="growth.view_campaign")
def live_campaigns(parent_context):
    """The marketer's home: campaigns running now, how fast each burns its budget and uses against its time."""
    return {"campaigns": selectors.live_campaigns()[:10], "campaigns_url": reverse("campaigns:index")}
