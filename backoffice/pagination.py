"""The one way a page (site or admin) splits a long list: `page_of(request, items, per_page)`."""

from django.core.paginator import Paginator


def page_of(request, items, per_page, *, param="page", count=None):
    """The page of `items` the query's `param` asks for; a missing, malformed or too large number gives the first
    or last page rather than an error (Paginator.get_page). A `count` the caller already knows (an exact cached
    figure) spares the COUNT query."""
    paginator = Paginator(items, per_page)
    if count is not None:
        paginator.count = count
    return paginator.get_page(request.GET.get(param))
