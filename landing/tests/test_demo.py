import pytest

from landing import demo
from landing.models import FaqEntry, Footer, Review

pytestmark = pytest.mark.django_db


def test_demo_content_loads_once_and_explains_how_proofs_are_judged():
    demo.load(lambda message: None)
    demo.load(lambda message: None)
    assert Review.objects.count() == len(demo.REVIEWS)
    assert Review.objects.filter(published=False).exists()
    questions = list(FaqEntry.objects.order_by("sort_order").values_list("question", flat=True))
    assert "How are proofs judged?" in questions
    assert Footer.load().links.count() == len(demo.LINKS)
