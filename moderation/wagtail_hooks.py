from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet

from .models import ScreenshotProof


class ScreenshotProofViewSet(ModelViewSet):
    model = ScreenshotProof
    icon = "image"
    menu_label = "Moderation"
    menu_order = 100
    add_to_admin_menu = True
    inspect_view_enabled = True
    list_display = ["__str__", "download", "status", "submitted_at"]
    list_filter = ["status"]
    form_fields = ["status"]


@hooks.register("register_admin_viewset")
def register_moderation():
    return ScreenshotProofViewSet("proofs")
