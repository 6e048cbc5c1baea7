from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = "Load demo data: each app's `demo.load`, in dependency order. Safe to run again."

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
        project_apps = [c for c in apps.get_app_configs() if c.path.startswith(str(settings.BASE_DIR))]
        for app_config in project_apps:
            module_name = f"{app_config.name}.demo"
            if find_spec(module_name) is None:
                continue
            with transaction.atomic():
                import_module(module_name).load(self.stdout.write)
        from backoffice.demo import logins

        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins:"))
        for email, password, role in logins():
            self.stdout.write(f"  {role:<22} {email:<26} {password}")
