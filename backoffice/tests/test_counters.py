"""Counters are written only by their services: no full-row save, form or admin can write an old value back."""

import ast
import re
import threading
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from backoffice.counters import CounterWriteRefused, writing_counters
from backoffice.roles import ADMINS
from backoffice.testing.concurrency import run_in_threads, wait_until_a_session_waits_for_a_lock
from backoffice.testing.forms import form_data, rendered_form
from backoffice.tests.factories import StaffFactory, UserFactory, moderator
from moderation.ledger import post_entry
from moderation.proofs import approve_proof
from moderation.selectors import users_with_unbalanced_ledger
from moderation.tests.factories import ScreenshotProofFactory

User = get_user_model()
REPO = Path(__file__).resolve().parents[2]


# --- the mechanism ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_full_save_of_a_stale_user_does_not_write_the_balance_back():
    member = UserFactory()
    stale = User.objects.get(pk=member.pk)
    post_entry(user=member, amount=100, kind="adjust", reason="test")
    stale.first_name = "Renamed"
    stale.save()
    fresh = User.objects.get(pk=member.pk)
    assert (fresh.first_name, fresh.points_balance) == ("Renamed", 100)


@pytest.mark.django_db
def test_saving_a_counter_by_name_outside_its_service_is_refused():
    member = UserFactory()
    member.points_balance = 1_000
    with pytest.raises(CounterWriteRefused):
        member.save(update_fields=["points_balance"])
    assert User.objects.get(pk=member.pk).points_balance == 0


@pytest.mark.django_db
def test_the_service_context_may_save_a_counter_by_name():
    member = UserFactory()
    member.points_balance = 0
    with writing_counters():
        member.save(update_fields=["points_balance", "first_name"])
    assert User.objects.get(pk=member.pk).points_balance == 0


@pytest.mark.django_db
def test_a_new_user_is_inserted_with_every_field():
    assert User.objects.create_user("new@example.test", "pw").points_balance == 0


# --- the rule, as a lint: no full .save() of a model with counters outside its service --------------------------

COUNTER_MODELS = re.compile(r"(user|member|campaign|referrer|referred|actor|moderator|marketer|staff|admin)", re.I)
SERVICE_MODULES = {
    "moderation/ledger.py",  # the ledger: points_balance
    "growth/campaigns.py",  # campaigns: uses_count, budget_spent
}
SKIPPED_DIRS = {".venv", "migrations", "tests", "node_modules", ".git", "static", "media", "test-artifacts"}


def _receiver_name(node):
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        if isinstance(node, ast.Attribute):
            return node.attr
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def full_saves_of_counter_models(root):
    """(path, line, source) of every `x.save()` without update_fields whose receiver is named like a user/campaign."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if SKIPPED_DIRS & set(relative.parts) or relative.as_posix() in SERVICE_MODULES:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "save"):
                continue
            if any(keyword.arg == "update_fields" for keyword in node.keywords):
                continue
            receiver = _receiver_name(node.func.value)
            if COUNTER_MODELS.search(receiver) and not receiver.endswith("form"):
                found.append((relative.as_posix(), node.lineno, ast.unparse(node)))
    return found


def test_no_code_outside_the_services_saves_a_user_or_campaign_without_update_fields():
    allowed = {("backoffice/models.py", "user.save(using=self._db)")}  # UserManager: inserting a new user
    offenders = [(path, line, source) for path, line, source in full_saves_of_counter_models(REPO)]
    offenders = [o for o in offenders if (o[0], o[2]) not in allowed]
    assert offenders == [], "save users/campaigns with update_fields (or through their service)"


def test_the_lint_finds_a_full_save(tmp_path):
    (tmp_path / "views.py").write_text("def edit(member):\n    member.first_name = 'x'\n    member.save()\n")
    (tmp_path / "ok.py").write_text("def edit(member):\n    member.save(update_fields=['first_name'])\n")
    assert full_saves_of_counter_models(tmp_path) == [("views.py", 3, "member.save()")]


# --- races on PostgreSQL: a full-row save of the user while an approval commits ---------------------------------


def approval_holding_the_row(proof, approved):
    """Approve inside a transaction kept open until the other request has read the user and waits to write it."""

    def approve():
        with transaction.atomic():
            approve_proof(proof=proof, moderator=moderator())
            approved.set()
            wait_until_a_session_waits_for_a_lock()

    return approve


def race(*targets):
    results, errors = run_in_threads(len(targets), lambda n: targets[n]())
    assert errors == [], [repr(e) for e in errors]


def assert_balance_kept(member, points):
    assert User.objects.get(pk=member.pk).points_balance == points
    assert list(users_with_unbalanced_ledger()) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("make_editor", "page"),
    [
        (lambda: StaffFactory(role=ADMINS), "/admin/users/edit/{pk}/"),
        (
            lambda: User.objects.create_superuser("root@example.test", "pw"),
            "/django-admin/backoffice/user/{pk}/change/",
        ),
    ],
    ids=["wagtail", "django-admin"],
)
def test_an_admin_user_edit_racing_an_approval_keeps_the_credit(on_postgres, make_editor, page):
    """The edit form was read before the approval credited the member; saving it must not write the old balance."""
    proof = ScreenshotProofFactory(download__app__points_reward=100)
    member, editor = proof.download.user, make_editor()
    url = page.format(pk=member.pk)
    approved = threading.Event()

    def edit():
        client = Client()
        client.force_login(editor)
        data = form_data(client.get(url))
        data.update(first_name="Edited", last_name="Member")
        approved.wait(10)
        response = client.post(url, data)
        assert response.status_code == 302, rendered_form(response).errors

    race(approval_holding_the_row(proof, approved), edit)
    assert User.objects.get(pk=member.pk).first_name == "Edited"
    assert_balance_kept(member, 100)


@pytest.mark.django_db(transaction=True)
def test_a_password_reset_racing_an_approval_keeps_the_credit(on_postgres):
    proof = ScreenshotProofFactory(download__app__points_reward=100)
    member = proof.download.user
    approved = threading.Event()

    def reset_password():
        client = Client()
        uid, token = urlsafe_base64_encode(force_bytes(member.pk)), default_token_generator.make_token(member)
        form_url = client.get(f"/accounts/reset/{uid}/{token}/").headers["Location"]
        approved.wait(10)
        password = "a-new-long-passphrase-42"
        response = client.post(form_url, {"new_password1": password, "new_password2": password})
        assert response.status_code == 302

    race(approval_holding_the_row(proof, approved), reset_password)
    assert User.objects.get(pk=member.pk).check_password("a-new-long-passphrase-42")
    assert_balance_kept(member, 100)
