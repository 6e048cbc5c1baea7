import factory
from django.utils.text import slugify

from backoffice.images import placeholder_png
from catalog.models import App, Category, Product, Store


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))


class SubcategoryFactory(CategoryFactory):
    parent = factory.SubFactory(CategoryFactory)


class AppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = App

    name = factory.Sequence(lambda n: f"App {n}")
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
    name = factory.Sequence(lambda n: f"Product {n}")
    price = "19.99"
    stock = 5
