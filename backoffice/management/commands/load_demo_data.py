from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings


class Command(BaseCommand):
    help = (
        "Load demo data: each app's `demo.load(out)`, in dependency order, then each app's optional "
        "`demo.after_all(out)`. Safe to run again. Prints a short summary (each app's optional `demo.summary()`) "
        "and the logins; -v 2 prints each step."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Load even under production settings (the passwords are public)."
        )

    def handle(self, *args, **options):
        if settings.PRODUCTION and not options["force"]:
            raise CommandError(
                "Refusing to load demo data under production settings: its accounts' passwords are published in "
                "the README. Use --force if this really is a throw-away deployment."
            )
        detail = self.stdout.write if options["verbosity"] >= 2 else (lambda message: None)
        project_apps = [c for c in apps.get_app_configs() if c.path.startswith(str(settings.BASE_DIR))]
        modules = [import_module(f"{config.name}.demo") for config in project_apps if find_spec(f"{config.name}.demo")]
        # Demo members are made up: the notifications their reviews trigger stay in the app, not on the console.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            for module in modules:
                with transaction.atomic():
                    module.load(detail)
            for module in modules:
                if hasattr(module, "after_all"):
                    with transaction.atomic():
                        module.after_all(detail)
        if options["verbosity"] < 1:
            return
        summary = ", ".join(module.summary() for module in modules if hasattr(module, "summary"))
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {summary}."))
        from backoffice.demo import logins

        self.stdout.write("Logins:")
        for email, password, role in logins():
            self.stdout.write(f"  {role:<22} {email:<26} {password}")
