from django.apps import AppConfig

LANDING_CACHE_GROUP = "landing"  # backoffice.cache version of the cached home page, which shows this content


class LandingConfig(AppConfig):
    name = "landing"
    verbose_name = "Landing page"

    def ready(self):
        from backoffice.cache import bump_on_change

        from .models import FaqEntry, Footer, FooterLink, Review

        # Wagtail's FAQ reorder shifts the others with update() but saves the moved entry: one post_save per move.
        bump_on_change(LANDING_CACHE_GROUP, Review, FaqEntry, Footer, FooterLink)
