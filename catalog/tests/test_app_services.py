from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from backoffice.images import placeholder_png
from backoffice.tests.factories import UserFactory, admin
from catalog import services
from catalog.models import App, ProductPriceChange
from catalog.tests.factories import AppFactory, CategoryFactory, ProductFactory, SubcategoryFactory

pytestmark = pytest.mark.django_db


def add_download(app):
    """A download made the way moderation does; catalog code never imports moderation."""
    Download = apps.get_model("moderation", "Download")
    return Download.objects.create(user=UserFactory(), app=app)


def new_app(**overrides):
    fields = {
        "name": "Sky Racer",
        "slug": "sky-racer",
        "category": CategoryFactory(),
        "points_reward": 50,
        "image": placeholder_png("sky", size=(800, 600), name="sky.png"),
    }
    created_by = overrides.pop("created_by", None)
    return services.save_app(app=App(**(fields | overrides)), user=created_by)


def edit_app(app, *, user=None, **fields):
    """An edit as the admin's form makes it: fields set on the instance, then saved through the service."""
    for name, value in fields.items():
        setattr(app, name, value)
    return services.save_app(app=app, user=user)


def test_create_app_makes_a_thumbnail_within_256_pixels():
    app = new_app()

    with Image.open(app.thumbnail.path) as thumbnail:
        assert thumbnail.size == (256, 192)
        assert thumbnail.format == "PNG"


def test_create_app_records_its_creator_in_field_and_history():
    staff = admin()

    app = new_app(created_by=staff)

    assert app.created_by == staff
    assert app.history.get().history_user == staff


def test_replacing_the_image_replaces_the_thumbnail():
    app = new_app()
    old_thumbnail = app.thumbnail.name

    edit_app(app, image=placeholder_png("new", size=(100, 400), name="new.png"))

    assert app.thumbnail.name != old_thumbnail
    with Image.open(app.thumbnail.path) as thumbnail:
        assert thumbnail.size == (64, 256)


def test_editing_other_fields_keeps_the_thumbnail():
    app = new_app()
    thumbnail = app.thumbnail.name

    edit_app(App.objects.get(pk=app.pk), points_reward=70)

    assert App.objects.get(pk=app.pk).thumbnail.name == thumbnail


def test_clearing_the_image_clears_the_thumbnail():
    app = new_app()

    edit_app(app, image="")

    assert not App.objects.get(pk=app.pk).thumbnail


def test_text_file_posing_as_image_is_refused():
    with pytest.raises(ValidationError) as caught:
        new_app(image=SimpleUploadedFile("icon.png", b"just some text, not pixels"))

    assert caught.value.message_dict["image"] == ["The file is not a valid image."]
    assert App.objects.count() == 0


def test_subcategory_of_another_category_is_refused():
    with pytest.raises(ValidationError) as caught:
        new_app(subcategory=SubcategoryFactory())

    assert "subcategory" in caught.value.message_dict


def test_zero_points_reward_is_refused():
    with pytest.raises(ValidationError) as caught:
        new_app(points_reward=0)

    assert "points_reward" in caught.value.message_dict


def test_duplicate_slug_is_refused():
    new_app()

    with pytest.raises(ValidationError) as caught:
        new_app(name="Other")

    assert "slug" in caught.value.message_dict


def test_app_without_downloads_can_be_deleted():
    app = AppFactory()

    services.delete_app(app)

    assert not App.objects.filter(pk=app.pk).exists()


def test_app_with_downloads_is_not_deleted_and_deactivation_is_suggested():
    app = AppFactory()
    add_download(app)

    with pytest.raises(services.AppHasDownloads) as caught:
        services.delete_app(app)

    assert "Deactivate it instead" in caught.value.messages[0]
    assert App.objects.filter(pk=app.pk).exists()


def test_deactivating_an_app_in_the_edit_form_keeps_its_history_with_the_editor():
    app = AppFactory()
    staff = admin()

    edit_app(App.objects.get(pk=app.pk), active=False, user=staff)

    app.refresh_from_db()
    assert app.active is False
    assert app.history.first().history_user == staff


def test_manual_price_edit_records_a_manual_price_change():
    product = ProductFactory(price="10.00")
    product.price = Decimal("12.00")

    services.save_product(product=product)

    change = ProductPriceChange.objects.get()
    assert (change.old_price, change.new_price, change.source) == (Decimal("10.00"), Decimal("12.00"), "manual")


def test_saving_a_product_without_price_change_records_nothing():
    product = ProductFactory(price="10.00")
    product.name = "Renamed"

    services.save_product(product=product)

    assert ProductPriceChange.objects.count() == 0


def test_negative_manual_price_is_refused():
    product = ProductFactory(price="10.00")
    product.price = Decimal("-1.00")

    with pytest.raises(ValidationError):
        services.save_product(product=product)

    assert ProductPriceChange.objects.count() == 0
