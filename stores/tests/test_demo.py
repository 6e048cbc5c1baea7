import pytest

from backoffice import demo as accounts_demo
from catalog import demo as catalog_demo
from stores import demo
from stores.models import Order, RepricingDecision, UserAlert

pytestmark = pytest.mark.django_db


def test_demo_data_gives_the_monitoring_page_and_alerts_something_real_once():
    accounts_demo.load(print)
    catalog_demo.load(print)
    demo.load(print)
    assert Order.objects.filter(placed_at__lt=Order.objects.latest("placed_at").placed_at).count() > 300
    assert RepricingDecision.objects.filter(status="suggested").exists()
    assert RepricingDecision.objects.filter(status="applied").exists()
    assert UserAlert.objects.filter(user__email="admin@example.com").exists()
    orders = Order.objects.count()
    demo.load(print)
    assert Order.objects.count() == orders
