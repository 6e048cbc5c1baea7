"""The landing content on the public home page: published reviews only, the FAQ in its order, the footer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from commerce.tests.factories import PlanFactory
from landing.models import Footer, FooterLink, Review
from landing.tests.factories import FaqEntryFactory, ReviewFactory

pytestmark = pytest.mark.django_db


def test_published_reviews_are_shown_and_drafts_are_not(client):
    ReviewFactory(name="Anna K.", text="Approved the same evening.", rating=4)
    ReviewFactory(name="Draft Dan", text="Not ready yet.", published=False)
    page = client.get("/").text
    assert "Anna K." in page and "Approved the same evening." in page
    assert 'aria-label="Rated 4 out of 5"' in page
    assert "Draft Dan" not in page and "Not ready yet." not in page


def test_reviews_are_newest_first_and_limited(client, settings):
    settings.LANDING_HOME_REVIEWS = 2
    now = timezone.now()
    for days, name in [(3, "Oldest"), (1, "Newest"), (2, "Middle")]:
        review = ReviewFactory(name=name)
        Review.objects.filter(pk=review.pk).update(created_at=now - timedelta(days=days))
    page = client.get("/").text
    assert page.index("Newest") < page.index("Middle")
    assert "Oldest" not in page


def test_faq_entries_follow_their_sort_order(client):
    FaqEntryFactory(question="Asked second?", sort_order=2)
    FaqEntryFactory(question="Asked first?", sort_order=1)
    FaqEntryFactory(question="Asked third?", sort_order=3)
    page = client.get("/").text
    assert page.index("Asked first?") < page.index("Asked second?") < page.index("Asked third?")


def test_no_section_heading_without_content(client):
    page = client.get("/").text
    assert "What members say" not in page and "Questions and answers" not in page and "<footer" not in page


def test_plans_come_from_commerce_and_sit_before_the_reviews(client):
    PlanFactory(name="Gold")
    ReviewFactory(name="Anna K.")
    page = client.get("/").text
    assert page.count("Membership plans") == 1
    assert page.index("Gold") < page.index("What members say")


def test_the_footer_shows_contacts_links_and_social_networks(client):
    footer = Footer.load()
    footer.company, footer.email, footer.phone = "Rewards Ltd", "help@example.com", "+44 20 7946 0000"
    footer.save()
    FooterLink.objects.create(footer=footer, label="Plans", url="/plans/", sort_order=1)
    FooterLink.objects.create(
        footer=footer, kind=FooterLink.Kind.SOCIAL, label="Telegram", url="https://t.me/x", sort_order=2
    )
    page = client.get("/").text
    footer_html = page[page.index('<footer class="site-footer">') :]
    assert 'href="mailto:help@example.com"' in footer_html and 'href="tel:+442079460000"' in footer_html
    assert '<a href="/plans/">Plans</a>' in footer_html
    assert 'aria-label="Follow us"' in footer_html and 'href="https://t.me/x"' in footer_html
    assert "Rewards Ltd" in footer_html
    assert page.index("</main>") < page.index('<footer class="site-footer">')


def test_the_home_page_reads_landing_content_in_a_constant_number_of_queries(client, django_assert_max_num_queries):
    footer = Footer.load()
    for n in range(3):
        ReviewFactory()
        FaqEntryFactory()
        FooterLink.objects.create(footer=footer, label=f"Link {n}", url=f"/l{n}/", sort_order=n)
    client.get("/")
    with django_assert_max_num_queries(12) as few:
        client.get("/")
    for n in range(20):
        ReviewFactory()
        FaqEntryFactory()
        FooterLink.objects.create(footer=footer, label=f"More {n}", url=f"/m{n}/", sort_order=10 + n)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/")


def test_a_review_published_or_a_faq_entry_edited_shows_on_the_cached_home_page(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        review = ReviewFactory(name="Pending Pam", published=False)
        entry = FaqEntryFactory(question="How long does a review take?")
    first = client.get("/").text  # anonymous: this page is now cached
    assert "Pending Pam" not in first and "How long does a review take?" in first
    review.published, entry.question = True, "How fast are proofs judged?"
    with django_capture_on_commit_callbacks(execute=True):
        review.save()
        entry.save()
    page = client.get("/").text
    assert "Pending Pam" in page and "How fast are proofs judged?" in page
