from django.db import migrations
from django.db.models import OuterRef, Subquery, Sum


def derive_product_stock(apps, schema_editor):
    """Product.stock of every product stocked at a sales point becomes the sum of its points' quantities."""
    Product = apps.get_model("catalog", "Product")
    ProductStock = apps.get_model("stores", "ProductStock")
    total = (
        ProductStock.objects.filter(product=OuterRef("pk"))
        .order_by()
        .values("product")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    Product.objects.filter(pk__in=ProductStock.objects.values("product_id")).update(stock=Subquery(total))


class Migration(migrations.Migration):
    """From now on stores.orders keeps Product.stock equal to the sum of the per-point stock."""

    dependencies = [("stores", "0003_staff_alert_routing"), ("catalog", "0006_merge_main_into_commerce")]

    operations = [migrations.RunPython(derive_product_stock, migrations.RunPython.noop)]
