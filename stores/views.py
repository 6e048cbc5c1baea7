"""Public endpoint of store operations: the price list the marketplace pulls (the token is the credential)."""

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from . import price_list
from .models import MarketplaceAccount

XML = "application/xml; charset=utf-8"


@require_GET
def price_list_xml(request, token):
    account = MarketplaceAccount.objects.select_related("store").filter(price_list_token=token).first()
    if account is None:
        raise Http404("No such price list.")
    body, chunks = price_list.cached_price_list(account.store)
    response = (
        HttpResponse(body, content_type=XML) if body is not None else StreamingHttpResponse(chunks, content_type=XML)
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
