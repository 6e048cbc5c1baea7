"""What every benchmark needs: its own PostgreSQL database, Django pointed at it and migrated."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def prepare_django(database_url, *, redis_url=None, settings="backoffice.settings.local", **environ):
    """Create the benchmark's database if missing, point Django at it (and at Redis), migrate.

    Extra keyword arguments are set as environment variables before Django reads its settings.
    """
    import psycopg

    server, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres".replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')

    os.environ["DATABASE_URL"] = database_url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    os.environ.update({key: str(value) for key, value in environ.items()})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
