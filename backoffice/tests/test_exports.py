"""Formula escaping: one policy (backoffice.exports) for every CSV/XLSX the product writes."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from backoffice import exports
from backoffice.tests.factories import UserFactory, moderator
from catalog.tests.factories import AppFactory, ProductFactory
from growth.models import Redemption, Referral
from growth.tests.factories import CampaignFactory
from moderation.models import Download

HOSTILE = ["=HYPERLINK(1)", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_would_run_as_a_formula_becomes_text(value):
    assert exports.escape_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "", "a=b", "-5", "+3.25", "-0.5e3", 12, None])
def test_plain_text_numbers_and_other_values_are_unchanged(value):
    assert exports.escape_cell(value) == value


def cells_of(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response["Content-Type"].startswith("text/csv"):
        return [cell for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for cell in row]
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [cell for row in sheet.iter_rows(values_only=True) for cell in row]


def assert_escaped(cells, *values):
    for value in values:
        assert value not in cells, f"{value!r} was written unescaped"
        assert "'" + value in cells


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_product_export_escapes_formulas(as_admin, file_format):
    ProductFactory(name="=HYPERLINK(1)", sku="@SKU")
    cells = cells_of(as_admin.get(reverse("products:index"), {"export": file_format}))
    assert_escaped(cells, "=HYPERLINK(1)", "@SKU")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_app_export_escapes_formulas(as_admin, file_format):
    AppFactory(name="+cmd|calc")
    assert_escaped(cells_of(as_admin.get(reverse("apps:index"), {"export": file_format})), "+cmd|calc")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_purchase_listing_export_escapes_app_names(as_admin, file_format):
    from commerce.models import Purchase

    Purchase.objects.create(
        member=UserFactory(email="@me@example.test"), app=AppFactory(name="-1+cmd"), price_paid=1, idempotency_key="k"
    )
    cells = cells_of(as_admin.get(reverse("purchases:index"), {"export": file_format}))
    assert_escaped(cells, "-1+cmd")


def listing_export_viewsets():
    """Every admin listing with a CSV/XLSX export: Wagtail's list_export is the one listing export mechanism."""
    from wagtail.admin.views.mixins import SpreadsheetExportMixin
    from wagtail.admin.viewsets import viewsets

    reverse("wagtailadmin_home")  # the admin's URLs (and so its viewset registry) are loaded
    return [
        viewset
        for viewset in viewsets.viewsets
        if issubclass(getattr(viewset, "index_view_class", object), SpreadsheetExportMixin)
        and isinstance(getattr(viewset, "list_export", None), list | tuple)
        and viewset.list_export
    ]


def test_every_listing_export_writes_each_column_through_the_escaping():
    checked = []
    for viewset in listing_export_viewsets():
        view = viewset.index_view_class()
        for field in viewset.list_export:
            if field in view.custom_field_preprocess:  # related rows written by slug: escaped after that step
                continue
            for file_format in ("csv", "xlsx"):
                assert view.preprocess_field_value(field, "=1+2", file_format) == "'=1+2", (viewset.name, field)
        checked.append(viewset.name)
    # apps, products, referrals, redemptions, purchases, subscriptions and the store listings
    assert {"apps", "products", "purchases"} <= set(checked) and len(checked) >= 10, checked


def test_no_custom_export_view_beside_wagtails():
    from django.urls import get_resolver

    def names(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                yield from names(pattern, prefix + (pattern.namespace + ":" if pattern.namespace else ""))
            elif pattern.name:
                yield prefix + pattern.name

    assert [name for name in names(get_resolver()) if name.endswith(":export") or name == "export"] == []


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_referral_listing_export_escapes_member_emails(as_marketer, file_format):
    referrer = UserFactory(email="=1+2@example.test")
    Referral.objects.create(referrer=referrer, referred=UserFactory(email="-3+4@example.test"))
    cells = cells_of(as_marketer.get("/admin/referrals/", {"export": file_format}))
    assert_escaped(cells, "=1+2@example.test", "-3+4@example.test")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_redemption_listing_export_escapes_names(as_marketer, file_format):
    Redemption.objects.create(
        campaign=CampaignFactory(name="@SUM(1)"),
        user=UserFactory(email="=cmd@example.test"),
        idempotency_key="k",
        cart_total="10.00",
        discount_amount="1.00",
    )
    cells = cells_of(as_marketer.get("/admin/redemptions/", {"export": file_format}))
    assert_escaped(cells, "@SUM(1)", "=cmd@example.test")


def test_the_downloads_by_app_csv_escapes_emails(client, db):
    client.force_login(moderator())
    download = Download.objects.create(user=UserFactory(email="=HYPERLINK(2)@example.test"), app=AppFactory())
    response = client.get(reverse("moderation_app_downloads"), {"app": download.app_id, "format": "csv"})
    assert_escaped(cells_of(response), "=HYPERLINK(2)@example.test")


def test_the_reporting_csv_escapes_app_names(as_marketer):
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    Download.objects.create(user=UserFactory(), app=AppFactory(name="\tTAB"))
    response = as_marketer.get("/admin/business-reports/", {"export": "top-downloads", "start": today, "end": today})
    assert_escaped(cells_of(response), "\tTAB")
