"""Read paths of the catalog app."""

from django.db.models import Q

from .models import App, Category, ProductUpload


def active_apps():
    return App.objects.filter(active=True).select_related("category", "subcategory").order_by("name", "pk")


def category_exists(slug):
    return Category.objects.filter(slug=slug).exists()


def apps_in_category(queryset, slug):
    """Apps filed under a category (directly or through one of its subcategories) or under a subcategory."""
    return queryset.filter(Q(category__slug=slug) | Q(subcategory__slug=slug))


def may_see_product_upload_file(user, name):
    """Product files are store data: only staff who may see product uploads get them; None when not an upload's."""
    if not ProductUpload.objects.filter(file=name).exists():
        return None
    return user.has_perm("catalog.view_productupload")


def uploads_awaiting_confirmation():
    """Product uploads checked by a dry run and never confirmed (or failed): an admin's loose ends."""
    return (
        ProductUpload.objects.filter(status__in=[ProductUpload.Status.PREVIEWED, ProductUpload.Status.FAILED])
        .select_related("uploaded_by")
        .order_by("-created_at")
    )
