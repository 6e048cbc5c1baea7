import pytest

from backoffice.roles import ADMINS
from backoffice.testing.browser import chromium_page, log_in_to_admin, screenshot
from backoffice.tests.factories import PASSWORD, StaffFactory
from catalog.models import Product, ProductPriceChange
from catalog.tests.factories import ProductFactory, StoreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_uploads_a_csv_previews_it_and_confirms_the_import(live_server, tmp_path):
    admin = StaffFactory(role=ADMINS)
    store = StoreFactory(slug="main-store")
    ProductFactory(store=store, sku="A1", name="Apple", price="5.00")
    csv_path = tmp_path / "products.csv"
    csv_path.write_text("store,sku,name,price,stock\nmain-store,A1,Apple,6.00,3\nmain-store,B2,Bread,2.50,10\n")

    with chromium_page() as page:
        log_in_to_admin(page, live_server.url, admin.email, PASSWORD)
        page.goto(f"{live_server.url}/admin/product_uploads/")
        page.get_by_role("link", name="Upload products").first.click()
        page.set_input_files("input[name=file]", str(csv_path))
        page.click("[data-upload-submit]")

        page.wait_for_selector("[data-upload-preview]")
        screenshot(page, "catalog-bulk-upload-preview")
        assert page.inner_text("[data-count=created]") == "1"
        assert page.inner_text("[data-count=updated]") == "1"
        preview = page.inner_text("[data-upload-preview]")
        assert "Bread" in preview and "5.00" in preview and "6.00" in preview
        assert Product.objects.count() == 1

        page.click("[data-upload-confirm]")
        page.wait_for_selector("[data-upload-result]")
        screenshot(page, "catalog-bulk-upload-imported")
        assert "Imported: 1 products created, 1 updated." in page.inner_text("[data-upload-result]")

    assert Product.objects.get(sku="A1").price == 6
    assert Product.objects.count() == 2
    assert ProductPriceChange.objects.filter(source="upload").count() == 2
