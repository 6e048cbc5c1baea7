"""Landing content in the Wagtail admin (a "Landing page" menu for Marketers and Admins) and on the home page."""

from django.template.loader import render_to_string
from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from . import selectors
from .models import FaqEntry, Review

HOME_SECTIONS_ORDER = 50  # after the apps and commerce's plans (order 0)


class LandingSnippetViewSet(SnippetViewSet):
    def register_chooser_viewset(self):
        """No chooser: nothing links to landing content, and Wagtail's would show drafts to every staff role."""


class ReviewViewSet(LandingSnippetViewSet):
    model = Review
    icon = "openquote"
    menu_label = "Reviews"
    list_display = ["name", "rating", "published", "created_at"]
    list_filter = ["published", "rating"]
    search_fields = ["name", "text"]


class FaqEntryViewSet(LandingSnippetViewSet):
    """Orderable: the listing lets Marketers drag questions into the order the home page shows."""

    model = FaqEntry
    icon = "help"
    menu_label = "FAQ"
    list_display = ["question"]
    search_fields = ["question", "answer"]


class LandingViewSetGroup(SnippetViewSetGroup):
    items = (ReviewViewSet, FaqEntryViewSet)
    menu_icon = "home"
    menu_label = "Landing page"
    menu_name = "landing"
    menu_order = 345


register_snippet(LandingViewSetGroup)


@hooks.register("growth_home_sections", order=HOME_SECTIONS_ORDER)
def landing_sections(request):
    """Published reviews, then the FAQ, on growth's public home page."""
    context = {"reviews": selectors.published_reviews(), "faq": selectors.faq_entries()}
    return render_to_string("landing/home_sections.html", context, request=request)


@hooks.register("growth_home_footer")
def landing_footer(request):
    """The footer Marketers edit under Settings → Footer."""
    context = selectors.footer(request)
    return render_to_string("landing/footer.html", context, request=request) if context else None
