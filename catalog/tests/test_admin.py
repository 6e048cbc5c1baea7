import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from backoffice.images import placeholder_png
from backoffice.tests.factories import PASSWORD, UserFactory, admin, marketer, moderator
from catalog import services
from catalog.models import App, Product, ProductPriceChange, ProductUpload
from catalog.tests.factories import AppFactory, CategoryFactory, ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(admin())
    return client


def add_download(app):
    return apps.get_model("moderation", "Download").objects.create(user=UserFactory(), app=app)


def app_form(category, **overrides):
    return {
        "name": "Sky Racer",
        "slug": "sky-racer",
        "category": category.pk,
        "subcategory": "",
        "description": "Fast.",
        "points_reward": 50,
        "credit_price": 5,
        "active": "on",
        **overrides,
    }


# Apps


def test_app_listing_searches_by_name(admin_client):
    AppFactory(name="Block Drop")
    AppFactory(name="Zombie Dash")

    response = admin_client.get(reverse("apps:index"), {"q": "zombie"})

    assert response.status_code == 200
    assert b"Zombie Dash" in response.content
    assert b"Block Drop" not in response.content


def test_app_listing_filters_by_category_and_active(admin_client):
    games = CategoryFactory(name="Games")
    AppFactory(name="Block Drop", category=games)
    AppFactory(name="Old Game", category=games, active=False)
    AppFactory(name="Coin Keeper")

    response = admin_client.get(reverse("apps:index"), {"category": games.pk, "active": "true"})

    assert b"Block Drop" in response.content
    assert b"Old Game" not in response.content
    assert b"Coin Keeper" not in response.content


def test_app_listing_orders_by_points_reward(admin_client):
    AppFactory(name="Cheap", points_reward=10)
    AppFactory(name="Rich", points_reward=500)

    response = admin_client.get(reverse("apps:index"), {"ordering": "-points_reward"})

    content = response.content.decode()
    assert content.index("Rich") < content.index("Cheap")


def test_app_listing_is_paginated_with_constant_queries(admin_client, django_assert_max_num_queries):
    AppFactory.create_batch(60)

    with django_assert_max_num_queries(25):
        response = admin_client.get(reverse("apps:index"), {"p": 2})

    assert response.status_code == 200
    assert response.context["page_obj"].number == 2
    assert len(response.context["object_list"]) == 10


def test_creating_an_app_with_an_image_makes_a_thumbnail_and_records_the_creator(client):
    staff = admin()
    client.force_login(staff)
    image = placeholder_png("sky", size=(600, 600), name="sky.png")

    response = client.post(
        reverse("apps:add"),
        app_form(CategoryFactory(), image=SimpleUploadedFile("sky.png", image.read(), content_type="image/png")),
    )

    assert response.status_code == 302, response.context["form"].errors
    app = App.objects.get(slug="sky-racer")
    assert app.thumbnail
    assert app.created_by == staff
    assert app.history.get().history_user == staff


def test_uploading_a_text_file_as_app_image_is_refused_with_a_message(admin_client):
    response = admin_client.post(
        reverse("apps:add"),
        app_form(CategoryFactory(), image=SimpleUploadedFile("icon.png", b"not an image", content_type="image/png")),
    )

    assert response.status_code == 200
    assert "not an image" in response.context["form"].errors["image"][0]
    assert App.objects.count() == 0


def test_edit_form_shows_the_current_image_preview(admin_client):
    app = AppFactory()

    response = admin_client.get(reverse("apps:edit", args=[app.pk]))

    assert f'src="{app.image.url}"'.encode() in response.content


def test_editing_an_app_keeps_its_image(admin_client):
    app = AppFactory()
    image = app.image.name

    response = admin_client.post(
        reverse("apps:edit", args=[app.pk]), app_form(app.category, name="Renamed", slug=app.slug)
    )

    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.name, app.image.name) == ("Renamed", image)


def test_deleting_an_app_without_downloads_works(admin_client):
    app = AppFactory()

    response = admin_client.post(reverse("apps:delete", args=[app.pk]))

    assert response.status_code == 302
    assert not App.objects.filter(pk=app.pk).exists()


def test_delete_page_of_an_app_with_downloads_refuses_and_suggests_deactivating(admin_client):
    app = AppFactory()
    add_download(app)

    response = admin_client.get(reverse("apps:delete", args=[app.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("apps:edit", args=[app.pk])
    assert "Deactivate it instead" in response.content.decode()


def test_posting_delete_of_an_app_with_downloads_keeps_it(admin_client):
    app = AppFactory()
    add_download(app)

    response = admin_client.post(reverse("apps:delete", args=[app.pk]))

    assert response.status_code == 302
    assert App.objects.filter(pk=app.pk).exists()


def test_the_history_page_shows_the_admin_log_and_who_changed_which_field(client):
    staff = admin()
    client.force_login(staff)
    app = AppFactory(points_reward=50)
    client.post(reverse("apps:edit", args=[app.pk]), app_form(app.category, slug=app.slug, points_reward=80))

    response = client.get(reverse("apps:history", args=[app.pk]))

    content = response.content.decode()
    assert "Edited" in content  # Wagtail's log of admin actions
    assert "points_reward" in content
    assert "50 → 80" in content
    assert staff.email in content or str(staff) in content


@pytest.mark.parametrize("make_user", [moderator, marketer])
def test_other_roles_cannot_manage_apps(client, make_user):
    client.force_login(make_user())
    app = AppFactory()

    assert client.get(reverse("apps:index")).status_code in (302, 403)
    assert client.post(reverse("apps:delete", args=[app.pk])).status_code in (302, 403)
    assert App.objects.filter(pk=app.pk).exists()


def exported(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_apps_export_as_csv_with_categories_by_slug(admin_client):
    app = AppFactory(name="Block Drop")

    response = admin_client.get(reverse("apps:index"), {"export": "csv"})

    assert response["Content-Type"] == "text/csv"
    lines = exported(response).decode().splitlines()
    assert lines[0] == "name,slug,category,subcategory,points_reward,credit_price,active,created_at"
    assert lines[1].startswith(f"Block Drop,block-drop,{app.category.slug},,")


def test_app_export_as_xlsx_is_a_workbook(admin_client):
    AppFactory(name="Block Drop")

    assert exported(admin_client.get(reverse("apps:index"), {"export": "xlsx"}))[:2] == b"PK"


def test_the_app_export_follows_the_listing_filter(admin_client):
    AppFactory(name="Shown", active=True)
    AppFactory(name="Hidden", active=False)

    content = exported(admin_client.get(reverse("apps:index"), {"export": "csv", "active": "true"})).decode()

    assert "Shown" in content and "Hidden" not in content


def test_product_export_can_be_uploaded_back_unchanged(admin_client):
    ProductFactory(sku="A1", price="3.50")
    ProductFactory(sku="B2", price="4.50")
    content = exported(admin_client.get(reverse("products:index"), {"export": "csv"}))

    upload = services.preview_product_upload(SimpleUploadedFile("export.csv", content), user=admin())

    assert content.decode().splitlines()[0] == "store,sku,name,price,stock,active"
    assert (upload.status, upload.unchanged_rows) == (ProductUpload.Status.PREVIEWED, 2)


# Products


def test_product_listing_queries_do_not_grow_with_100k_products(admin_client, django_assert_max_num_queries):
    store = StoreFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
            "INSERT INTO catalog_product (store_id, sku, name, price, stock, active, updated_at) "
            "SELECT %s, 'S' || i, 'Product ' || i, 1.00, 0, TRUE, CURRENT_TIMESTAMP FROM n",
            [store.pk],
        )
    assert Product.objects.count() == 100_000

    with django_assert_max_num_queries(20):
        response = admin_client.get(reverse("products:index"), {"p": 3})

    assert response.status_code == 200
    assert len(response.context["object_list"]) == 50


def test_editing_a_product_price_records_a_manual_price_change(admin_client):
    product = ProductFactory(price="10.00")

    response = admin_client.post(
        reverse("products:edit", args=[product.pk]),
        {"store": product.store_id, "sku": product.sku, "name": product.name, "price": "12.50", "stock": 1},
    )

    assert response.status_code == 302
    change = ProductPriceChange.objects.get()
    assert (str(change.old_price), str(change.new_price), change.source) == ("10.00", "12.50", "manual")


def test_the_product_history_page_lists_price_changes(admin_client):
    product = ProductFactory(price="10.00")
    ProductPriceChange.objects.create(product=product, old_price="9.00", new_price="10.00", source="upload")

    response = admin_client.get(reverse("products:history", args=[product.pk]))

    assert "Bulk upload" in response.content.decode()


# Bulk upload


def test_bulk_upload_shows_preview_then_imports_on_confirm(admin_client):
    StoreFactory(slug="main-store")
    csv = b"store,sku,name,price\nmain-store,A1,Apple,1.50\n"

    response = admin_client.post(
        reverse("product_uploads:add"), {"file": SimpleUploadedFile("p.csv", csv)}, follow=True
    )

    assert b"Would create" in response.content
    assert b"Apple" in response.content
    assert Product.objects.count() == 0
    upload = ProductUpload.objects.get()

    response = admin_client.post(reverse("product_uploads:confirm", args=[upload.pk]), follow=True)

    assert b"Imported 1 new and 0 updated products." in response.content
    assert Product.objects.get().sku == "A1"


def test_bulk_upload_of_a_bad_file_shows_the_reason_on_the_form(admin_client):
    response = admin_client.post(reverse("product_uploads:add"), {"file": SimpleUploadedFile("p.csv", b"")})

    assert response.status_code == 200
    assert "The file is empty." in response.content.decode()
    assert ProductUpload.objects.count() == 0


def test_bulk_upload_with_row_errors_lists_them_without_a_confirm_button(admin_client):
    StoreFactory(slug="main-store")
    csv = b"store,sku,name,price\nmain-store,A1,Apple,-1\n"

    response = admin_client.post(
        reverse("product_uploads:add"), {"file": SimpleUploadedFile("p.csv", csv)}, follow=True
    )

    content = response.content.decode()
    assert "Price cannot be negative (got -1)." in content
    assert "data-upload-confirm" not in content


def test_upload_listing_shows_statuses(admin_client):
    ProductUpload.objects.create(original_name="monday.csv", file="x.csv", status="imported")
    ProductUpload.objects.create(original_name="tuesday.csv", file="y.csv", status="failed")

    response = admin_client.get(reverse("product_uploads:index"))

    content = response.content.decode()
    assert "monday.csv" in content and "Imported" in content
    assert "tuesday.csv" in content and "Failed" in content


@pytest.mark.parametrize("make_user", [moderator, marketer])
def test_only_admins_can_upload_products(client, make_user):
    client.force_login(make_user())
    StoreFactory(slug="main-store")

    response = client.post(
        reverse("product_uploads:add"),
        {"file": SimpleUploadedFile("p.csv", b"store,sku,name,price\nmain-store,A1,Apple,1.50\n")},
    )

    assert response.status_code in (302, 403)
    assert ProductUpload.objects.count() == 0


def test_only_admins_can_confirm_an_upload(client):
    StoreFactory(slug="main-store")
    from catalog import services

    upload = services.preview_product_upload(
        SimpleUploadedFile("p.csv", b"store,sku,name,price\nmain-store,A1,Apple,1.50\n"), user=admin()
    )
    client.force_login(moderator())

    response = client.post(reverse("product_uploads:confirm", args=[upload.pk]))

    assert response.status_code in (302, 403)
    assert Product.objects.count() == 0


def test_catalog_menu_lists_the_upload_page_for_admins(client):
    client.login(username=admin().email, password=PASSWORD)

    response = client.get(reverse("wagtailadmin_home"))

    assert reverse("product_uploads:index").encode() in response.content
