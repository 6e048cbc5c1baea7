"""Orders keep each sales point's stock right: reserve on creation, take on shipping, release on cancel."""

from decimal import Decimal

import pytest

from backoffice.testing.concurrency import run_in_threads
from catalog.tests.factories import ProductFactory
from stores import orders
from stores.models import Order, ProductStock
from stores.tests.factories import ClientFactory, ProductStockFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock():
    return ProductStockFactory(quantity=5)


def place(stock, quantity=2, code="ORD-1"):
    product, point = stock.product, stock.sales_point
    return orders.create_order(
        store=product.store, code=code, sales_point=point, items=[(product, quantity, Decimal("19.99"))]
    )


def stock_of(stock):
    stock.refresh_from_db()
    return stock.quantity, stock.reserved


def test_a_new_order_reserves_its_items_and_totals_them(stock):
    order = place(stock, quantity=2)
    assert order.status == Order.Status.NEW
    assert order.total == Decimal("39.98")
    assert stock_of(stock) == (5, 2)


def test_an_order_for_more_than_the_point_has_is_refused_and_writes_nothing(stock):
    place(stock, quantity=4, code="A")
    with pytest.raises(orders.OrderRefused) as refused:
        place(stock, quantity=2, code="B")
    assert refused.value.code == "insufficient_stock"
    assert stock_of(stock) == (5, 4)
    assert not Order.objects.filter(code="B").exists()


def test_an_order_for_a_product_the_point_never_stocked_is_refused(stock):
    other = ProductFactory(store=stock.product.store)
    with pytest.raises(orders.OrderRefused) as refused:
        orders.create_order(
            store=other.store, code="X", sales_point=stock.sales_point, items=[(other, 1, Decimal("1"))]
        )
    assert refused.value.code == "insufficient_stock"


def test_a_code_already_used_in_the_store_is_refused(stock):
    place(stock, quantity=1)
    with pytest.raises(orders.OrderRefused) as refused:
        place(stock, quantity=1)
    assert refused.value.code == "duplicate_order"
    assert stock_of(stock) == (5, 1)


def test_negative_quantity_is_refused(stock):
    with pytest.raises(orders.OrderRefused) as refused:
        place(stock, quantity=-1)
    assert refused.value.code == "invalid_item"


def test_shipping_takes_the_items_off_the_shelf(stock):
    order = place(stock, quantity=2)
    orders.change_status(order=order, new_status=Order.Status.ACCEPTED)
    orders.change_status(order=order, new_status=Order.Status.SHIPPED)
    assert stock_of(stock) == (3, 0)


def test_cancelling_an_open_order_releases_its_reservation(stock):
    order = place(stock, quantity=2)
    orders.change_status(order=order, new_status=Order.Status.ACCEPTED)
    orders.change_status(order=order, new_status=Order.Status.CANCELLED)
    assert stock_of(stock) == (5, 0)


def test_a_return_puts_the_items_back(stock):
    order = place(stock, quantity=2)
    for status in (Order.Status.ACCEPTED, Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.RETURNED):
        orders.change_status(order=order, new_status=status)
    assert stock_of(stock) == (5, 0)


@pytest.mark.parametrize(
    "path, refused_status",
    [
        ([], Order.Status.SHIPPED),  # new orders are accepted first
        ([Order.Status.ACCEPTED, Order.Status.SHIPPED], Order.Status.CANCELLED),
        ([Order.Status.CANCELLED], Order.Status.ACCEPTED),
    ],
)
def test_transitions_outside_the_table_are_refused_and_move_no_stock(stock, path, refused_status):
    order = place(stock, quantity=2)
    for status in path:
        orders.change_status(order=order, new_status=status)
    before = stock_of(stock)
    with pytest.raises(orders.OrderRefused) as refused:
        orders.change_status(order=order, new_status=refused_status)
    assert refused.value.code == "transition_not_allowed"
    assert stock_of(stock) == before


def test_every_status_change_is_in_the_history_with_its_actor(stock, django_user_model):
    actor = django_user_model.objects.create_user(email="staff@example.com", is_staff=True)
    order = place(stock, quantity=1)
    orders.change_status(order=order, new_status=Order.Status.ACCEPTED, actor=actor)
    latest = order.history.order_by("-history_date").first()
    assert (latest.status, latest.history_user) == (Order.Status.ACCEPTED, actor)
    assert order.history.count() == 2


def test_a_stock_count_below_what_is_reserved_is_refused(stock):
    place(stock, quantity=3)
    with pytest.raises(orders.OrderRefused) as refused:
        orders.set_stock(sales_point=stock.sales_point, product=stock.product, quantity=2)
    assert refused.value.code == "below_reserved"
    assert stock_of(stock) == (5, 3)


def test_orders_can_carry_a_client(stock):
    client = ClientFactory(store=stock.product.store)
    order = orders.create_order(
        store=client.store,
        code="C-1",
        sales_point=stock.sales_point,
        items=[(stock.product, 1, "5")],
        client=client,
    )
    assert order.client == client


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_never_oversell_a_point(on_postgres):
    stock = ProductStockFactory(quantity=3)

    def order(i):
        try:
            place(stock, quantity=1, code=f"C-{i}")
            return "ok"
        except orders.OrderRefused as exc:
            return exc.code

    results, errors = run_in_threads(8, order)
    assert errors == []
    assert results.count("ok") == 3
    assert ProductStock.objects.get(pk=stock.pk).reserved == 3


# Product.stock is derived: the sum of the product's per-point quantities, kept by this service.


def product_stock(stock):
    return type(stock.product).objects.values_list("stock", flat=True).get(pk=stock.product_id)


@pytest.fixture
def two_points():
    """One product stocked at two points (5 + 7), its catalog figure stale (99) until the service touches it."""
    first = ProductStockFactory(quantity=5, product=ProductFactory(stock=99))
    second = ProductStockFactory(quantity=7, product=first.product)
    return first, second


def test_a_stock_take_makes_the_product_stock_the_sum_of_its_points(two_points):
    first, second = two_points
    orders.set_stock(sales_point=first.sales_point, product=first.product, quantity=8)
    assert product_stock(first) == 8 + 7


def test_shipping_and_returning_keep_the_product_stock_equal_to_the_sum(two_points):
    first, _second = two_points
    order = place(first, quantity=2)
    assert product_stock(first) == 99  # a reservation moves nothing off the shelf
    orders.change_status(order=order, new_status=Order.Status.ACCEPTED)
    orders.change_status(order=order, new_status=Order.Status.SHIPPED)
    assert product_stock(first) == 3 + 7
    orders.change_status(order=order, new_status=Order.Status.RETURNED)
    assert product_stock(first) == 5 + 7


def test_a_refused_stock_take_leaves_the_product_stock_alone(two_points):
    first, _second = two_points
    place(first, quantity=4)
    with pytest.raises(orders.OrderRefused):
        orders.set_stock(sales_point=first.sales_point, product=first.product, quantity=3)
    assert product_stock(first) == 99


def test_sync_fixes_products_whose_rows_were_written_in_bulk_and_leaves_unstocked_ones(two_points):
    first, _second = two_points
    unstocked = ProductFactory(stock=42)
    orders.sync_product_stock(product_ids=[first.product_id, unstocked.pk])
    assert product_stock(first) == 12
    unstocked.refresh_from_db()
    assert unstocked.stock == 42  # the catalog's own figure: no sales point stocks it


@pytest.mark.django_db(transaction=True)
def test_concurrent_shipments_from_two_points_leave_the_exact_sum(on_postgres):
    first = ProductStockFactory(quantity=20)
    second = ProductStockFactory(quantity=20, product=first.product)
    placed = [place(stock, quantity=1, code=f"S-{n}") for n in range(8) for stock in [(first, second)[n % 2]]]
    for order in placed:
        orders.change_status(order=order, new_status=Order.Status.ACCEPTED)

    def ship(i):
        orders.change_status(order=placed[i], new_status=Order.Status.SHIPPED)

    _results, errors = run_in_threads(8, ship)
    assert errors == []
    assert product_stock(first) == 20 - 4 + 20 - 4
