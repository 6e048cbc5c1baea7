"""One "not allowed" page, inside the admin chrome, for every admin URL a user may not use.

Wagtail refuses in two ways: its own views redirect to the dashboard with a banner (`wagtail.admin.auth.
permission_denied`, also called when a view raises PermissionDenied inside `require_admin_access`), and our views
answered a bare 403. Both now answer this page with status 403, so a refusal looks and reads the same everywhere.
`BackofficeConfig.ready` points Wagtail's function here; our views call `not_allowed` directly.
"""

from django.core.exceptions import PermissionDenied
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin


class NotAllowedView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "backoffice/admin/not_allowed.html"
    page_title = "Not allowed"
    header_icon = "lock"

    def get_breadcrumbs_items(self):
        return []

    def dispatch(self, request, *args, **kwargs):
        return self.get(request, *args, **kwargs)  # the same page whatever the refused request's method


def not_allowed(request):
    """The 403 page in the admin chrome (a script asking gets a bare PermissionDenied, as Wagtail does)."""
    if request.headers.get("x-requested-with") == "XMLHttpRequest":
        raise PermissionDenied
    response = NotAllowedView.as_view()(request)
    response.status_code = 403
    return response


def use_for_wagtail_refusals():
    """Make Wagtail's own refusals (its permission decorators and `require_admin_access`) answer `not_allowed`."""
    from wagtail.admin import auth

    auth.permission_denied = not_allowed
