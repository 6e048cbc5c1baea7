"""Write paths of store operations other than orders (stores.orders) and prices (stores.repricing)."""

from django.utils import timezone

from .models import MarketplaceAccount, new_price_list_token


def rotate_price_list_token(account, *, actor=None):
    """A new secret price-list URL; the old one stops working at once (after a leak, or routinely)."""
    account.price_list_token = new_price_list_token()
    account.token_rotated_at = timezone.now()
    account._history_user = actor
    account.save(update_fields=["price_list_token", "token_rotated_at"])
    return account


def marketplace_account(store):
    account, _ = MarketplaceAccount.objects.get_or_create(store=store)
    return account
