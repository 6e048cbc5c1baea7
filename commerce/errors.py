"""Refusals of the commerce services; each has a stable code the API's one handler maps to a status."""

from backoffice.errors import DomainError


class PurchaseRefused(DomainError):
    """A purchase or refund that cannot happen (already bought, inactive app, balance too low...)."""


class SubscriptionRefused(DomainError):
    """A plan subscription that cannot happen."""
