"""Architecture rules as tests: they read the source, the way Zulip's lint rules do.

The project's apps form one chain; an app imports only from apps to its right:

    integrations → reporting → landing → stores → commerce → growth → moderation → catalog → backoffice

Apps that do not exist yet keep their place so a new app lands where DESIGN.md says.
"""

import ast
from pathlib import Path

import pytest
from django.conf import settings

CHAIN = [
    "integrations",
    "reporting",
    "landing",
    "stores",
    "commerce",
    "growth",
    "moderation",
    "catalog",
    "backoffice",
]
ROOT = Path(settings.BASE_DIR)
PRESENT = [app for app in CHAIN if (ROOT / app / "__init__.py").exists()]


def python_files(app):
    """The app's own code: not its migrations, tests or test helpers."""
    for path in sorted((ROOT / app).rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "migrations" in parts or "tests" in parts or "testing" in parts:
            continue
        yield path


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def parse(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_every_project_app_has_a_place_in_the_chain():
    apps = {path.parent.name for path in ROOT.glob("*/apps.py") if path.parent.name != ".venv"}
    assert apps <= set(CHAIN), f"apps without a place in the dependency chain: {sorted(apps - set(CHAIN))}"


def test_installed_apps_list_project_apps_in_chain_order():
    # Settings list them base first: backoffice, catalog, moderation... (each above the apps that use it).
    installed = [app for app in settings.INSTALLED_APPS if app in CHAIN]
    assert installed == sorted(installed, key=lambda app: -CHAIN.index(app))


@pytest.mark.parametrize("app", PRESENT)
def test_app_imports_only_from_apps_to_its_right(app):
    # Tests are exempt: project-wide journeys and the permission matrix live in backoffice/tests and use every app.
    forbidden = set(CHAIN[: CHAIN.index(app)])
    offences = []
    for path in python_files(app):
        for module in imported_modules(parse(path)):
            top = module.split(".")[0]
            if top in forbidden:
                offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offences == [], "imports against the chain " + " → ".join(CHAIN) + ":\n" + "\n".join(offences)


@pytest.mark.parametrize("app", PRESENT)
def test_no_print_calls_or_bare_excepts_in_app_code(app):
    offences = []
    for path in python_files(app):
        if "management" in path.parts:  # commands talk to the operator on stdout
            continue
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} print()")
            if isinstance(node, ast.ExceptHandler) and node.type is None:
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} bare except")
    assert offences == []


def settings_reads_with_getattr(tree):
    """`getattr(settings, ...)` calls: a tunable read with a fallback instead of declared once in settings/base.py."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "settings"
        ):
            yield node.lineno


@pytest.mark.parametrize("app", PRESENT)
def test_settings_are_read_as_attributes_not_with_getattr(app):
    # Every tunable is declared once in backoffice/settings/base.py with its default and a comment, and read as
    # settings.X: a getattr(settings, "X", default) hides a second default nobody can find.
    offences = [
        f"{path.relative_to(ROOT)}:{line} getattr(settings, ...)"
        for path in python_files(app)
        for line in settings_reads_with_getattr(parse(path))
    ]
    assert offences == []


def test_the_getattr_settings_rule_sees_a_read_with_a_default():
    tree = ast.parse('from django.conf import settings\nX = getattr(settings, "X", 5)\nY = settings.Y\n')
    assert list(settings_reads_with_getattr(tree)) == [2]


def positional_service_entry_points(tree):
    """Public module-level functions that open a transaction or lock rows, yet accept positional arguments.

    Such a function is a service entry point (it writes); the house style calls it with keywords only, so a call
    site reads `change_status(order=..., new_status=...)` and reordering parameters can never swap two values.
    Views and Celery tasks keep Django's and Celery's calling conventions: they are not services.
    """
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        if any(
            isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "").endswith("task")
            for decorator in node.decorator_list
        ):
            continue
        positional = node.args.posonlyargs + node.args.args
        if positional and positional[0].arg == "request":
            continue
        source = ast.unparse(node)
        if positional and ("transaction.atomic" in source or "select_for_update" in source):
            yield node.lineno, node.name


@pytest.mark.parametrize("app", PRESENT)
def test_services_that_write_take_keyword_arguments_only(app):
    offences = [
        f"{path.relative_to(ROOT)}:{line} {name}()"
        for path in python_files(app)
        for line, name in positional_service_entry_points(parse(path))
    ]
    assert offences == []


def test_the_keyword_only_rule_sees_a_positional_service():
    tree = ast.parse(
        "from django.db import transaction\n"
        "def pay(order, amount):\n    with transaction.atomic():\n        pass\n"
        "def refund(*, order):\n    with transaction.atomic():\n        pass\n"
        "def view(request, pk):\n    with transaction.atomic():\n        pass\n"
        "def label(order):\n    return str(order)\n"
    )
    assert list(positional_service_entry_points(tree)) == [(2, "pay")]
