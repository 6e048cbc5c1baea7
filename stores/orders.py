"""Orders and stock: the one place that changes an order's status or a sales point's stock.

Stock at a sales point is `quantity` on hand and `reserved` by open orders. A new order reserves its items
(refused with `insufficient_stock` when the point lacks them); shipping takes them off the shelf; cancelling
an open order releases its reservation; a return puts the items back. Each change locks the order row and
moves stock with a conditional UPDATE, so concurrent orders can never oversell a point.

`Product.stock` is derived: for a product stocked at sales points it is the sum of their `quantity` (on hand,
reservations included), rewritten in the same transaction as every change of a point's quantity. Each such
change locks the product rows first (in id order), so the sum is read after every earlier change committed.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import F, Subquery
from django.utils import timezone

from backoffice.errors import DomainError
from backoffice.queries import sum_per_row
from catalog.models import Product

from .models import Order, OrderItem, ProductStock

S = Order.Status
# status -> the statuses it may move to
ALLOWED_TRANSITIONS = {
    S.NEW: {S.ACCEPTED, S.CANCELLED},
    S.ACCEPTED: {S.SHIPPED, S.CANCELLED},
    S.SHIPPED: {S.DELIVERED, S.RETURNED},
    S.DELIVERED: {S.RETURNED},
    S.CANCELLED: set(),
    S.RETURNED: set(),
}


class OrderRefused(DomainError):
    pass


def _lock_products(product_ids):
    """Lock the products whose on-hand stock is about to change, in id order (one order: no deadlocks)."""
    list(Product.objects.select_for_update().filter(pk__in=product_ids).order_by("pk").values_list("pk", flat=True))


def _derive_product_stock(product_ids):
    """Product.stock := the sum of its sales points' quantities, for products stocked at any point."""
    total = sum_per_row(ProductStock.objects.all(), "quantity", per="product")
    stocked = ProductStock.objects.filter(product_id__in=product_ids).values("product_id")
    Product.objects.filter(pk__in=stocked).update(stock=Subquery(total))


def sync_product_stock(*, product_ids):
    """Make Product.stock equal the sum of its per-point stock (after rows were written in bulk, e.g. demo data)."""
    product_ids = sorted(set(product_ids))
    with transaction.atomic():
        _lock_products(product_ids)
        _derive_product_stock(product_ids)


def _reserve(point, product_id, quantity, now):
    taken = ProductStock.objects.filter(
        sales_point=point, product_id=product_id, quantity__gte=F("reserved") + quantity
    ).update(reserved=F("reserved") + quantity, updated_at=now)
    if not taken:
        raise OrderRefused(
            "insufficient_stock",
            f"{point.name} does not have {quantity} of product {product_id} available.",
            {"product": product_id, "sales_point": point.pk, "requested": quantity},
        )


def create_order(*, store, code, sales_point, items, client=None, placed_at=None, actor=None):
    """Create a new order and reserve its items at the sales point; all or nothing.

    `items` is a list of (product, quantity, unit_price). A code already used in the store is refused
    (`duplicate_order`); so is an order for more than the point has (`insufficient_stock`).
    """
    if sales_point.store_id != store.pk:
        raise OrderRefused("wrong_sales_point", "The sales point belongs to another store.")
    if not items:
        raise OrderRefused("empty_order", "An order needs at least one item.")
    merged = {}
    for product, quantity, unit_price in items:
        if product.store_id != store.pk:
            raise OrderRefused("wrong_product", f"{product.sku} belongs to another store.")
        if int(quantity) < 1 or Decimal(unit_price) < 0:
            raise OrderRefused("invalid_item", f"{product.sku}: quantity must be 1 or more and price not negative.")
        previous = merged.get(product.pk, (product, 0, Decimal(unit_price)))
        merged[product.pk] = (product, previous[1] + int(quantity), Decimal(unit_price))
    now = timezone.now()
    with transaction.atomic():
        if Order.objects.filter(store=store, code=code).exists():
            raise OrderRefused("duplicate_order", f"Order {code} already exists in {store}.")
        for product_id in sorted(merged):  # one lock order for every transaction: no deadlocks
            _reserve(sales_point, product_id, merged[product_id][1], now)
        order = Order(
            store=store,
            code=code,
            client=client,
            sales_point=sales_point,
            status=S.NEW,
            total=sum((quantity * price for _p, quantity, price in merged.values()), Decimal("0")),
            placed_at=placed_at or now,
            status_changed_at=now,
        )
        order._history_user = actor
        order.save()
        OrderItem.objects.bulk_create(
            OrderItem(order=order, product=product, quantity=quantity, unit_price=price)
            for product, quantity, price in merged.values()
        )
    return order


def _move_stock(order, *, quantity_delta_sign, reserved_delta_sign, now):
    """Apply each item to its stock row: quantity += sign*n, reserved += sign*n (conditional, never negative)."""
    items = sorted(order.items.all(), key=lambda item: item.product_id)
    if quantity_delta_sign:
        _lock_products([item.product_id for item in items])
    for item in items:
        n = item.quantity
        rows = ProductStock.objects.filter(sales_point_id=order.sales_point_id, product_id=item.product_id)
        if reserved_delta_sign < 0:
            rows = rows.filter(reserved__gte=n)
        if quantity_delta_sign < 0:
            rows = rows.filter(quantity__gte=n)
        updated = rows.update(
            quantity=F("quantity") + quantity_delta_sign * n,
            reserved=F("reserved") + reserved_delta_sign * n,
            updated_at=now,
        )
        if not updated and quantity_delta_sign > 0 and reserved_delta_sign == 0:
            ProductStock.objects.create(sales_point_id=order.sales_point_id, product_id=item.product_id, quantity=n)
        elif not updated:
            raise OrderRefused("stock_mismatch", f"The stock of product {item.product_id} no longer covers this order.")
    if quantity_delta_sign:
        _derive_product_stock([item.product_id for item in items])


def change_status(*, order, new_status, actor=None):
    """Move an order along ALLOWED_TRANSITIONS, keeping the sales point's stock right, recorded in history."""
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if new_status == order.status:
            return order
        if new_status not in ALLOWED_TRANSITIONS[order.status]:
            raise OrderRefused(
                "transition_not_allowed",
                f"An order that is {order.get_status_display().lower()} cannot become {S(new_status).label.lower()}.",
                {"from": order.status, "to": new_status},
            )
        if new_status == S.SHIPPED:
            _move_stock(order, quantity_delta_sign=-1, reserved_delta_sign=-1, now=now)
        elif new_status == S.CANCELLED:
            _move_stock(order, quantity_delta_sign=0, reserved_delta_sign=-1, now=now)
        elif new_status == S.RETURNED:
            _move_stock(order, quantity_delta_sign=+1, reserved_delta_sign=0, now=now)
        order.status, order.status_changed_at = new_status, now
        order._history_user = actor
        order.save(update_fields=["status", "status_changed_at"])
    return order


def set_stock(*, sales_point, product, quantity, actor=None):
    """Count a product at a sales point (a stock take): refused below what open orders have reserved."""
    if int(quantity) < 0:
        raise OrderRefused("invalid_quantity", "Stock cannot be negative.")
    with transaction.atomic():
        _lock_products([product.pk])
        stock, _ = ProductStock.objects.select_for_update().get_or_create(sales_point=sales_point, product=product)
        if quantity < stock.reserved:
            raise OrderRefused(
                "below_reserved", f"{stock.reserved} are reserved by open orders; the count cannot be lower."
            )
        stock.quantity = quantity
        stock._history_user = actor
        stock.save(update_fields=["quantity", "updated_at"])
        _derive_product_stock([product.pk])
    return stock
