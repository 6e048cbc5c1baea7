"""What Marketers write for the public home page: reviews, the FAQ and the footer.

The plans shown there are commerce's `Plan`s (commerce renders them itself); nothing here repeats them.
Edits are made in the Wagtail admin, whose log keeps who changed what (each snippet's History page).
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.models import Orderable

RATING_MIN, RATING_MAX = 1, 5


class Review(models.Model):
    """A member's words about the service, shown on the home page once a Marketer publishes it."""

    name = models.CharField(max_length=80, help_text="As the reviewer agreed to be named, e.g. “Anna K.”")
    text = models.TextField(max_length=1000)
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(RATING_MIN), MaxValueValidator(RATING_MAX)], help_text="1 to 5 stars."
    )
    published = models.BooleanField(default=False, help_text="Only published reviews appear on the home page.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    panels = [FieldPanel("name"), FieldPanel("text"), FieldPanel("rating"), FieldPanel("published")]

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["published", "-created_at"], name="review_published_recent")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=RATING_MIN, rating__lte=RATING_MAX), name="review_rating_1_to_5"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.rating}/5)"

    @property
    def stars(self):
        return "★" * self.rating + "☆" * (RATING_MAX - self.rating)


class FaqEntry(Orderable):
    """One question and its answer; Marketers drag them into order in the admin listing."""

    question = models.CharField(max_length=200)
    answer = models.TextField(max_length=2000)

    panels = [FieldPanel("question"), FieldPanel("answer")]

    class Meta(Orderable.Meta):
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def __str__(self):
        return self.question


def validate_link_target(value):
    """A footer link is a page of this site (/plans/) or an http(s) address; never javascript: or data:."""
    if value.startswith("/") and not value.startswith("//"):
        return
    if value.lower().startswith(("https://", "http://")):
        return
    raise ValidationError(
        "Enter an address starting with https:// (or http://), or a path of this site such as /plans/."
    )


@register_setting(icon="list-ul")
class Footer(ClusterableModel, BaseGenericSetting):
    """The home page footer: one per site, contacts and links."""

    company = models.CharField(max_length=120, blank=True, help_text="Shown as © <year> <company>.")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=200, blank=True)

    panels = [
        MultiFieldPanel(
            [FieldPanel("company"), FieldPanel("email"), FieldPanel("phone"), FieldPanel("address")], "Contacts"
        ),
        InlinePanel("links", label="Link"),
    ]

    class Meta:
        verbose_name = "footer"

    def __str__(self):
        return "Footer"


class FooterLink(Orderable):
    class Kind(models.TextChoices):
        LINK = "link"
        SOCIAL = "social", "Social network"

    footer = ParentalKey(Footer, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LINK)
    label = models.CharField(max_length=60)
    url = models.CharField("address", max_length=300, validators=[validate_link_target])

    panels = [FieldPanel("kind"), FieldPanel("label"), FieldPanel("url")]

    def __str__(self):
        return self.label
