"""Wagtail admin views of the catalog; they stay thin and call catalog.services."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView, View
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.log_actions import log

from backoffice import viewsets
from backoffice.history import ObjectHistoryView

from . import selectors, services
from .models import ProductUpload
from .product_files import MAX_PRODUCT_FILE_BYTES

# Apps


class ImagePreviewInput(forms.ClearableFileInput):
    """A file input that shows the current image (its thumbnail) and a live preview of a newly chosen file."""

    template_name = "catalog/admin/image_preview_input.html"

    def __init__(self, attrs=None):
        super().__init__(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif", **(attrs or {})})


class SaveThroughServiceMixin:
    """Create/edit views that save through the catalog service (validation, history user) and log the action.
    The viewset passes its `save_service`, a services.save_* function taking the instance by model name
    (app=, product=) and user=."""

    log_action = "wagtail.edit"
    save_service = None

    def save_instance(self):
        instance = self.form.save(commit=False)
        self.save_service(**{instance._meta.model_name: instance}, user=self.request.user)
        log(instance=instance, action=self.log_action, user=self.request.user)
        return instance


class ServiceCreateView(SaveThroughServiceMixin, generic.CreateView):
    log_action = "wagtail.create"


class ServiceEditView(SaveThroughServiceMixin, generic.EditView):
    pass


class AppDeleteView(generic.DeleteView):
    """Deleting an app with downloads is refused before the confirmation page, and again on POST."""

    def get(self, request, *args, **kwargs):
        try:
            services.check_app_deletable(self.object)
        except services.AppHasDownloads as refusal:
            return self._refuse(refusal)
        return super().get(request, *args, **kwargs)

    def delete_action(self):
        with transaction.atomic():
            log(instance=self.object, action="wagtail.delete", user=self.request.user)
            services.delete_app(self.object, user=self.request.user)

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except services.AppHasDownloads as refusal:
            return self._refuse(refusal)

    def _refuse(self, refusal):
        messages.error(self.request, refusal.messages[0])
        return redirect(self.edit_url_name, self.object.pk)


def _by_slug(related):
    """An export cell for a related category or store: its slug, as the upload format names it."""
    return related.slug if related is not None else ""


class CatalogIndexView(viewsets.IndexView):
    """A listing with its related rows fetched in the same query and a History link on each row; its CSV/XLSX
    export is Wagtail's (`list_export`), with related rows written by slug as uploads read them."""

    history_url_name = None
    custom_field_preprocess = {
        field: {"csv": _by_slug, "xlsx": _by_slug} for field in ("store", "category", "subcategory")
    }

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if self.history_url_name:
            buttons.append(
                MenuItem(_("History"), url=reverse(self.history_url_name, args=[instance.pk]), icon_name="history")
            )
        return buttons


class BreadcrumbsMixin:
    """Home › <listing> › <this page>, like Wagtail's own generic views."""

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": capfirst(self.model._meta.verbose_name_plural)},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]


class ProductHistoryView(ObjectHistoryView):
    """A product's History page, with its price changes (manual edits and uploads) below the field changes."""

    template_name = "catalog/admin/product_history.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not self.results_only:
            context["price_changes"] = self.object.price_changes.all()[:50]
        return context


# Bulk product upload


class ProductUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Product file"),
        help_text=_(
            "CSV (UTF-8) or Excel .xlsx, at most %(limit)s MB. Columns: store (slug), sku, name, price, "
            "and optionally stock and active. Store + SKU identify a product: existing ones are updated."
        )
        % {"limit": MAX_PRODUCT_FILE_BYTES // 1024 // 1024},
        widget=forms.FileInput(attrs={"accept": ".csv,.xlsx"}),
        allow_empty_file=True,
    )


class ProductUploadIndexView(generic.IndexView):
    add_item_label = _("Upload products")


class ProductUploadCreateView(BreadcrumbsMixin, PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """Step 1: upload a file; it is checked and dry-run, then the preview is shown."""

    permission_required = "add"
    model = ProductUpload
    form_class = ProductUploadForm
    template_name = "catalog/admin/product_upload_form.html"
    page_title = _("Upload products")
    header_icon = "upload"
    index_url_name = None
    inspect_url_name = None

    def form_valid(self, form):
        try:
            upload = services.start_product_upload(form.cleaned_data["file"], user=self.request.user)
        except ValidationError as refusal:
            form.add_error("file", refusal)
            return self.form_invalid(form)
        if upload.in_progress:
            messages.info(self.request, _(BACKGROUND_MESSAGE) % {"step": _("checked")})
        return redirect(self.inspect_url_name, upload.pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            index_url=reverse(self.index_url_name),
            inline_max_mb=round(settings.PRODUCT_UPLOAD_INLINE_MAX_BYTES / 1024 / 1024, 1),
            **kwargs,
        )


BACKGROUND_MESSAGE = (
    "This file is large, so it is %(step)s in the background. You can leave this page: "
    "you will be notified when it is done."
)


class ProductUploadDetailView(BreadcrumbsMixin, PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """Step 2: the dry-run preview (creates, updates, errors) with a confirm button; afterwards, the result."""

    any_permission_required = ["add", "view"]
    model = ProductUpload
    template_name = "catalog/admin/product_upload_detail.html"
    header_icon = "upload"
    index_url_name = None
    add_url_name = None
    confirm_url_name = None
    status_url_name = None

    def get_page_title(self):
        return _("Product upload")

    def get_page_subtitle(self):
        return self.upload.original_name

    def get(self, request, pk):
        self.upload = get_object_or_404(ProductUpload.objects.select_related("uploaded_by", "task_run"), pk=pk)
        return super().get(request, pk=pk)

    def get_context_data(self, **kwargs):
        upload = self.upload
        return super().get_context_data(
            upload=upload,
            progress=selectors.upload_progress(upload) if upload.in_progress else None,
            status_url=reverse(self.status_url_name, args=[upload.pk]),
            can_confirm=upload.status == ProductUpload.Status.PREVIEWED and self.user_has_permission("add"),
            confirm_url=reverse(self.confirm_url_name, args=[upload.pk]),
            index_url=reverse(self.index_url_name),
            add_url=reverse(self.add_url_name),
            more_preview_rows=upload.created_rows + upload.updated_rows - len(upload.preview_rows),
            **kwargs,
        )


class ProductUploadConfirmView(PermissionCheckedMixin, View):
    permission_required = "add"
    model = ProductUpload
    inspect_url_name = None
    http_method_names = ["post"]

    def post(self, request, pk):
        upload = get_object_or_404(ProductUpload, pk=pk)
        try:
            upload = services.start_product_import(upload, user=request.user)
        except ValidationError as refusal:
            messages.error(request, refusal.messages[0])
            return redirect(self.inspect_url_name, upload.pk)
        if upload.in_progress:
            messages.info(request, _(BACKGROUND_MESSAGE) % {"step": _("imported")})
        elif upload.status == ProductUpload.Status.IMPORTED:
            messages.success(
                request,
                _("Imported %(created)s new and %(updated)s updated products.")
                % {"created": upload.created_rows, "updated": upload.updated_rows},
            )
        else:
            messages.error(request, _("Nothing was imported: the file no longer matches the catalog. See the errors."))
        return redirect(self.inspect_url_name, upload.pk)


class ProductUploadStatusView(PermissionCheckedMixin, View):
    """The upload's state as JSON, for its page's progress bar (static/catalog/upload_progress.js polls it).
    Whoever may open the upload's page may read this; anyone else gets 403, an unknown upload 404."""

    any_permission_required = ["add", "view"]
    model = ProductUpload
    http_method_names = ["get"]

    def get(self, request, pk):
        upload = get_object_or_404(ProductUpload.objects.select_related("task_run"), pk=pk)
        response = JsonResponse(selectors.upload_progress(upload))
        response["Cache-Control"] = "no-store"
        return response
