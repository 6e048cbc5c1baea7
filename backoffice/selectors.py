"""Read paths of the accounts."""

from django.db import router
from django.db.models.deletion import Collector, ProtectedError


def records_blocking_deletion(user):
    """The records (downloads' proofs, ledger entries, referrals, redemptions...) that keep `user` from being deleted.

    Points and proofs are audited history, so an account that has any is deactivated instead of deleted.
    """
    collector = Collector(using=router.db_for_write(type(user)))
    try:
        collector.collect([user])
    except ProtectedError as error:
        return list(error.protected_objects)
    return []
