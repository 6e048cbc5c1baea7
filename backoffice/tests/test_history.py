"""One object history page: Wagtail's History view, with simple-history's field changes (backoffice.history)."""

import pytest
from django.urls import reverse

from backoffice.history import FieldChanges, ObjectHistoryView, field_changes
from backoffice.tests.factories import admin, marketer
from catalog.tests.factories import AppFactory
from growth.campaigns import update_campaign
from growth.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def admin_viewsets():
    from wagtail.admin.viewsets import viewsets
    from wagtail.admin.viewsets.model import ModelViewSet

    reverse("wagtailadmin_home")  # the admin's URLs (and so its viewset registry) are loaded
    return [viewset for viewset in viewsets.viewsets if isinstance(viewset, ModelViewSet)]


def test_every_admin_listing_of_a_model_with_field_history_shows_it_on_wagtails_history_page():
    tracked = [viewset for viewset in admin_viewsets() if hasattr(viewset.model, "history")]
    assert {"apps", "products", "campaigns", "purchases"} <= {viewset.name for viewset in tracked}
    wrong = [viewset.name for viewset in tracked if not issubclass(viewset.history_view_class, ObjectHistoryView)]
    assert wrong == []


def test_field_changes_are_newest_first_with_the_changed_fields():
    app = AppFactory(points_reward=10)
    app.points_reward = 20
    app.save()
    changes = field_changes(app)
    newest, created = changes.rows
    assert [(change.field, change.old, change.new) for change in newest["changes"]] == [("points_reward", 10, 20)]
    assert (created["record"].history_type, changes.truncated) == ("+", False)


def test_a_service_change_to_a_field_no_form_edits_is_listed():
    from stores import orders
    from stores.tests.factories import ProductStockFactory

    stock = ProductStockFactory(quantity=3)
    order = orders.create_order(
        store=stock.product.store, code="F-1", sales_point=stock.sales_point, items=[(stock.product, 1, "5")]
    )
    orders.change_status(order=order, new_status="accepted")
    newest = field_changes(order).rows[0]
    assert ("status", "new", "accepted") in [(change.field, change.old, change.new) for change in newest["changes"]]


def test_only_the_latest_changes_are_listed():
    app = AppFactory(points_reward=1)
    for points in range(2, 6):
        app.points_reward = points
        app.save()
    changes = field_changes(app, limit=3)
    assert (len(changes.rows), changes.truncated) == (3, True)


def test_an_object_without_field_history_has_none():
    assert field_changes(admin()) == (FieldChanges(rows=[], truncated=False))


def test_a_campaigns_history_page_shows_the_marketers_edit(client):
    user = marketer()
    client.force_login(user)
    campaign = CampaignFactory(name="Spring")
    campaign.name = "Summer"
    update_campaign(campaign=campaign, actor=user)
    response = client.get(reverse("campaigns:history", args=[campaign.pk]))
    assert response.status_code == 200
    assert "Spring → Summer" in response.content.decode()
