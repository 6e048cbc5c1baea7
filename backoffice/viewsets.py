"""Shared pieces of the project's Wagtail admin screens, built on Wagtail's own generic views and viewsets.

- `AdminPageView`: a page of its own in the admin (not a listing), for who holds `permission`.
- `PermissionRequiredMixin`, `ObjectMixin`: who may use a view; the one object it acts on.
- `ConfirmObjectActionView`: one object's confirmation page, then the POST that does the action.
- `IndexView` / `ModelViewSet`: a listing whose related rows come in the same query (`list_select_related`).
- `HomePanel` / `register_home_panel`: a panel of the admin's home page, for who holds its permission.
"""

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.views.generic import TemplateView
from django.views.generic.detail import SingleObjectMixin
from laces.components import Component
from wagtail import hooks
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.history import HistoryView
from wagtail.admin.viewsets.model import ModelViewSet as WagtailModelViewSet

from .history import ObjectHistoryView, has_field_history


class PermissionRequiredMixin:
    """Refuses (403) who does not hold `permission` ("app.codename"); None lets every admin user in."""

    permission = None

    def dispatch(self, request, *args, **kwargs):
        if self.permission is not None and not request.user.has_perm(self.permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class AdminPageView(PermissionRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    """A page of its own in the admin: Wagtail's header and breadcrumbs (Home › its title)."""

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": "", "label": self.get_page_title()}]


class ObjectMixin(SingleObjectMixin):
    """Django's single object (`model`, the URL's `pk`, in the context as `object` and `context_object_name`),
    looked up once the permission is checked: an outsider learns nothing of what exists (403, never 404)."""

    def dispatch(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().dispatch(request, *args, **kwargs)


class ConfirmObjectActionView(PermissionRequiredMixin, ObjectMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET: a page that says what the action will do to one object, with the action's button and Cancel (back to
    `cancel_url_name`); POST: the action. Its template extends backoffice/admin/confirm_action.html."""

    submit_label = ""
    submit_class = "button"
    cancel_url_name = None

    def get_submit_label(self):
        return self.submit_label

    def get_submit_class(self):
        return self.submit_class

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            submit_label=self.get_submit_label(),
            submit_class=self.get_submit_class(),
            cancel_url=reverse(self.cancel_url_name),
            **kwargs,
        )


class IndexView(generic.IndexView):
    """A listing that fetches the related rows it shows in the same query (`select_related`)."""

    select_related = ()

    def get_base_queryset(self):
        queryset = super().get_base_queryset()
        # select_related() without names would follow every foreign key: only the named ones.
        return queryset.select_related(*self.select_related) if self.select_related else queryset


class ModelViewSet(WagtailModelViewSet):
    """Wagtail's ModelViewSet as the project's admin uses it: the History page of a model with django-simple-history
    also shows its field changes (backoffice.history), and the listing fetches `list_select_related` with its rows
    (as Django's admin does). Records that change only through their services set `edit_opens_inspect`: they have
    no edit form, and their Edit link opens the inspect page."""

    index_view_class = IndexView
    list_select_related = ()
    edit_opens_inspect = False

    @property
    def edit_view(self):
        return self.inspect_view if self.edit_opens_inspect else super().edit_view

    @property
    def history_view_class(self):
        """A subclass may name its own (a subclass of ObjectHistoryView for a tracked model)."""
        return ObjectHistoryView if has_field_history(self.model) else HistoryView

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(select_related=self.list_select_related, **kwargs)


class HomePanel(Component):
    """A panel of the admin's home page (Wagtail's `construct_homepage_panels`); made by `home_panel`."""

    def __init__(self, *, name, order, template_name, context):
        self.name, self.order, self.template_name, self._context = name, order, template_name, context

    def get_context_data(self, parent_context):
        return self._context(parent_context)


def home_panel(*, order, permission):
    """Decorator: `<app>.wagtail_hooks.<panel>(parent_context) -> dict` fills the template `<app>/home/<panel>.html`
    as a panel of the admin's home, shown to every user who holds `permission`, in `order` among the others."""

    def register(context):
        app = context.__module__.split(".")[0]
        panel = {
            "name": f"{app}_{context.__name__}",
            "order": order,
            "template_name": f"{app}/home/{context.__name__}.html",
        }

        def add_panel(request, panels):
            if request.user.has_perm(permission):
                panels.append(HomePanel(**panel, context=context))

        hooks.register("construct_homepage_panels", add_panel)
        return context

    return register
