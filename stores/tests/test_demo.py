import pytest

from stores import demo
from stores.models import Order, RepricingDecision, UserAlert

# The whole demo, loaded once for the module (conftest.demo_data): seconds of work, so `make test` runs it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_data"), pytest.mark.slow]


def test_demo_data_gives_the_monitoring_page_and_alerts_something_real_once():
    assert Order.objects.filter(placed_at__lt=Order.objects.latest("placed_at").placed_at).count() > 300
    assert RepricingDecision.objects.filter(status="suggested").exists()
    assert RepricingDecision.objects.filter(status="applied").exists()
    assert UserAlert.objects.filter(user__email="admin@example.com").exists()
    orders = Order.objects.count()
    demo.load(print)
    assert Order.objects.count() == orders
