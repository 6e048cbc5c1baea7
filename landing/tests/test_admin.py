"""Marketers edit the landing content in the Wagtail admin; Admins may; Moderators may not. Bad input writes nothing."""

import pytest
from django.urls import reverse
from wagtail.models import ModelLogEntry

from backoffice.tests.factories import admin, marketer, moderator
from landing.models import FaqEntry, Footer, FooterLink, Review
from landing.tests.factories import FaqEntryFactory, ReviewFactory

pytestmark = pytest.mark.django_db

REVIEW_ADD = reverse("wagtailsnippets_landing_review:add")
GOOD_REVIEW = {"name": "Anna K.", "text": "Quick approvals.", "rating": "5", "published": "on"}


def test_a_marketer_adds_a_review_and_the_admin_log_records_who(client):
    staff = marketer()
    client.force_login(staff)
    response = client.post(REVIEW_ADD, GOOD_REVIEW)
    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.name, review.rating, review.published) == ("Anna K.", 5, True)
    client.post(reverse("wagtailsnippets_landing_review:edit", args=[review.pk]), {**GOOD_REVIEW, "rating": "4"})
    actions = list(ModelLogEntry.objects.for_instance(review).order_by("timestamp").values_list("action", "user"))
    assert actions == [("wagtail.create", staff.pk), ("wagtail.edit", staff.pk)]


def test_an_admin_may_edit_landing_content_too(client):
    client.force_login(admin())
    assert client.post(REVIEW_ADD, GOOD_REVIEW).status_code == 302
    assert Review.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"rating": "0"}, "rating", "greater than or equal to 1"),
        ({"rating": "6"}, "rating", "less than or equal to 5"),
        ({"rating": "four"}, "rating", "Enter a whole number"),
        ({"name": ""}, "name", "This field is required"),
        ({"text": ""}, "text", "This field is required"),
        ({"name": "x" * 81}, "name", "at most 80 characters"),
    ],
)
def test_a_bad_review_is_refused_with_a_clear_error_and_nothing_written(client, change, field, message):
    client.force_login(marketer())
    response = client.post(REVIEW_ADD, {**GOOD_REVIEW, **change})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Review.objects.count() == 0


def test_the_database_refuses_a_rating_outside_1_to_5():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(name="Bot", text="Spam", rating=6)


def test_a_new_faq_entry_goes_last_and_marketers_reorder_them(client):
    first, second = FaqEntryFactory(sort_order=1), FaqEntryFactory(sort_order=2)
    client.force_login(marketer())
    response = client.post(
        reverse("wagtailsnippets_landing_faqentry:add"), {"question": "How are proofs judged?", "answer": "By people."}
    )
    assert response.status_code == 302
    new = FaqEntry.objects.get(question="How are proofs judged?")
    assert list(FaqEntry.objects.order_by("sort_order")) == [first, second, new]
    response = client.post(reverse("wagtailsnippets_landing_faqentry:reorder", args=[new.pk]) + "?position=0")
    assert response.status_code == 200
    assert list(FaqEntry.objects.order_by("sort_order")) == [new, first, second]


def test_an_empty_faq_answer_is_refused(client):
    client.force_login(marketer())
    response = client.post(reverse("wagtailsnippets_landing_faqentry:add"), {"question": "Why?", "answer": ""})
    assert response.status_code == 200 and "answer" in response.context["form"].errors
    assert FaqEntry.objects.count() == 0


def footer_post(**link):
    data = {
        "company": "Rewards Ltd",
        "email": "help@example.com",
        "phone": "",
        "address": "",
        "links-TOTAL_FORMS": "1",
        "links-INITIAL_FORMS": "0",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "1000",
    }
    data.update({f"links-0-{key}": value for key, value in {"kind": "link", "ORDER": "1", **link}.items()})
    return data


def test_a_marketer_edits_the_footer(client):
    client.force_login(marketer())
    footer = Footer.load()
    url = reverse("wagtailsettings:edit", args=["landing", "footer", footer.pk])
    response = client.post(url, footer_post(label="Plans", url="/plans/"))
    assert response.status_code == 302
    footer.refresh_from_db()
    assert footer.company == "Rewards Ltd"
    assert list(footer.links.values_list("label", "url")) == [("Plans", "/plans/")]


@pytest.mark.parametrize("target", ["javascript:alert(1)", "//evil.example/", "data:text/html,hi", ""])
def test_a_footer_link_to_a_script_or_nowhere_is_refused(client, target):
    client.force_login(marketer())
    footer = Footer.load()
    url = reverse("wagtailsettings:edit", args=["landing", "footer", footer.pk])
    response = client.post(url, footer_post(label="Click", url=target))
    assert response.status_code == 200
    assert "url" in response.context["form"].formsets["links"].forms[0].errors
    footer.refresh_from_db()
    assert footer.company == "" and FooterLink.objects.count() == 0


def test_moderators_cannot_touch_landing_content(client):
    review = ReviewFactory(published=False)
    client.force_login(moderator())
    for url in [
        reverse("wagtailsnippets_landing_review:list"),
        reverse("wagtailsnippets_landing_review:edit", args=[review.pk]),
        reverse("wagtailsettings:edit", args=["landing", "footer", Footer.load().pk]),
    ]:
        assert client.get(url).status_code in (302, 403), url
    response = client.post(
        reverse("wagtailsnippets_landing_review:edit", args=[review.pk]), {**GOOD_REVIEW, "published": "on"}
    )
    assert response.status_code in (302, 403)
    review.refresh_from_db()
    assert not review.published


def test_marketers_see_the_landing_menu(client):
    client.force_login(marketer())
    assert "Landing page" in client.get("/admin/").text
