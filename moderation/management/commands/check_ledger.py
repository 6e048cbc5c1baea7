from django.core.management.base import BaseCommand, CommandError

from moderation.selectors import users_with_unbalanced_ledger


class Command(BaseCommand):
    help = "Check that every user's points balance equals the sum of their ledger entries."

    def handle(self, *args, **options):
        unbalanced = list(users_with_unbalanced_ledger()[:50])
        if unbalanced:
            for user in unbalanced:
                self.stderr.write(f"{user.email}: balance {user.points_balance}, ledger {user.ledger_total}")
            raise CommandError(f"{len(unbalanced)} user(s) have a balance that differs from their ledger.")
        self.stdout.write(self.style.SUCCESS("Ledger balanced: every balance equals the sum of its entries."))
