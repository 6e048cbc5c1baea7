from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Load demo data: each app's `demo.load`, in dependency order. Safe to run again."

    def handle(self, *args, **options):
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
