"""Read paths of the catalog app."""

from django.db.models import Q

from backoffice.models import TaskRun

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


def upload_progress(upload):
    """Where a product upload's background job is, for its progress bar (the page and its JSON status):
    {"status", "status_label", "finished", "done", "total", "message"}; total 0 means "no count yet"."""
    run = upload.task_run
    done, total = (run.progress_done, run.progress_total) if run is not None else (0, 0)
    finished = not upload.in_progress
    checking = upload.status == ProductUpload.Status.CHECKING
    if finished:
        message = upload.get_status_display()
    elif run is not None and run.status == TaskRun.Status.FAILED:
        finished = True  # the job died without recording its outcome on the upload (e.g. never reached a worker)
        message = "The background job stopped without finishing. Nothing was imported; upload the file again."
    elif run is None or run.status == TaskRun.Status.QUEUED:
        message = "Waiting for a background worker…"
    elif not total:
        message = "Reading the file…"
    elif done < total:
        verb = "Checked" if checking else "Read"
        message = f"{verb} {done:,} of {total:,} rows…"
    else:
        message = "Preparing the preview…" if checking else f"Writing {total:,} products…"
        total = 0  # writing has no count of its own: the bar shows activity, not a stuck 100 %
    return {
        "status": upload.status,
        "status_label": upload.get_status_display(),
        "finished": finished,
        "done": min(done, total),
        "total": total,
        "message": message,
    }
