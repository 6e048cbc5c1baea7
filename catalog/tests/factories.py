import factory
from django.utils.text import slugify

from backoffice.images import placeholder_png
from backoffice.tests.factories import numbered
from catalog.models import App, Category, Product, Store


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = numbered("Category")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))


class SubcategoryFactory(CategoryFactory):
    parent = factory.SubFactory(CategoryFactory)


class AppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = App

    name = numbered("App")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    category = factory.SubFactory(CategoryFactory)
    points_reward = 100
    credit_price = 10
    image = factory.LazyFunction(lambda: placeholder_png("app", size=(64, 64), name="app.png"))


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ["slug"]

    name = "Main store"
    slug = "main-store"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    store = factory.SubFactory(StoreFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    name = numbered("Product")
    price = "19.99"
    stock = 5
