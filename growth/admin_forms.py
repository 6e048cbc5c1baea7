from django.core.exceptions import ValidationError
from wagtail.admin.forms import WagtailAdminModelForm

from . import campaigns


class CampaignForm(WagtailAdminModelForm):
    """The marketer's campaign form: field widgets only. Every rule is `growth.campaigns.validate_campaign`'s,
    shown here on the fields it names; the views save through the campaign service."""

    def validate_unique(self):
        """Runs after the instance is built: the service's rules first, in words; then the model's constraints."""
        instance = self.instance
        try:
            campaigns.validate_campaign(instance, uses_count=instance.uses_count, budget_spent=instance.budget_spent)
        except ValidationError as error:
            self._update_errors(error)
            return
        super().validate_unique()
