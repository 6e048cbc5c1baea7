import factory

from backoffice.tests.factories import numbered
from landing.models import FaqEntry, Review


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    name = numbered("Reviewer")
    text = "Points came in quickly."
    rating = 5
    published = True


class FaqEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FaqEntry

    question = factory.Sequence(lambda n: f"Question {n}?")
    answer = "An answer."
    sort_order = factory.Sequence(lambda n: n)
