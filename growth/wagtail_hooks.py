from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet

from .models import Campaign


class CampaignViewSet(ModelViewSet):
    model = Campaign
    icon = "tag"
    menu_label = "Campaigns"
    menu_order = 300
    add_to_admin_menu = True
    list_display = ["name", "discount_kind", "discount_value", "starts_at", "ends_at", "uses_count", "active"]
    list_filter = ["active", "discount_kind"]
    search_fields = ["name"]
    form_fields = [
        "name",
        "description",
        "discount_kind",
        "discount_value",
        "min_cart_total",
        "points_cost",
        "eligible_apps",
        "eligible_categories",
        "audience",
        "new_user_days",
        "min_points",
        "starts_at",
        "ends_at",
        "max_uses",
        "budget",
        "per_user_limit",
        "active",
    ]


@hooks.register("register_admin_viewset")
def register_growth():
    return CampaignViewSet("campaigns")
