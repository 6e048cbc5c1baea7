"""Reads for the public home page. Not cached: the home page isn't either, and these are three small queries."""

from django.conf import settings

from .models import FaqEntry, Footer, Review


def published_reviews(limit=None):
    """The newest published reviews; drafts never leave the admin."""
    return list(
        Review.objects.filter(published=True).order_by("-created_at", "-id")[: limit or settings.LANDING_HOME_REVIEWS]
    )


def faq_entries():
    """Questions in the order Marketers arranged them (ties, e.g. rows not yet reordered, by age)."""
    return list(FaqEntry.objects.order_by("sort_order", "pk"))


def footer(request=None):
    """The footer with its links split into plain links and social networks, or None when it is empty."""
    settings_row = Footer.load(request_or_site=request)
    links = list(settings_row.links.order_by("sort_order", "pk"))
    if not (settings_row.company or settings_row.email or settings_row.phone or settings_row.address or links):
        return None
    return {
        "footer": settings_row,
        "links": [link for link in links if link.kind == link.Kind.LINK],
        "social": [link for link in links if link.kind == link.Kind.SOCIAL],
    }
