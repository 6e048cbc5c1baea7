"""Write paths of store operations other than orders (stores.orders) and prices (stores.repricing)."""

from django.db import transaction
from django.utils import timezone

from .models import AlertKind, AlertPreference, MarketplaceAccount, TelegramChat, new_price_list_token


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


def save_alert_preferences(*, user, data):
    """Store where `user` wants each kind of alert, and their Telegram chat (empty: unlinked)."""
    with transaction.atomic():
        for kind, _label in AlertKind.choices:
            AlertPreference.objects.update_or_create(
                user=user,
                kind=kind,
                defaults={"in_app": bool(data.get(f"{kind}__in_app")), "telegram": bool(data.get(f"{kind}__telegram"))},
            )
        chat_id = (data.get("telegram_chat_id") or "").strip()
        if chat_id:
            TelegramChat.objects.update_or_create(user=user, defaults={"chat_id": chat_id})
        else:
            TelegramChat.objects.filter(user=user).delete()
