from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

LANDING_CACHE_GROUP = "landing"  # backoffice.cache version of the cached home page, which shows this content


class LandingConfig(AppConfig):
    name = "landing"
    verbose_name = "Landing page"

    def ready(self):
        from backoffice.cache import bump_on_change

        from .models import FaqEntry, Footer, FooterLink, Review

        bump = bump_on_change(LANDING_CACHE_GROUP)
        self.bump_landing_cache = bump  # signals hold receivers weakly
        # Wagtail's FAQ reorder shifts the others with update() but saves the moved entry: one post_save per move.
        for model in (Review, FaqEntry, Footer, FooterLink):
            post_save.connect(bump, sender=model, dispatch_uid=f"landing-cache-{model.__name__}-save")
            post_delete.connect(bump, sender=model, dispatch_uid=f"landing-cache-{model.__name__}-delete")
