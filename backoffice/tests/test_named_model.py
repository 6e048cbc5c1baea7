from django.apps import apps

from backoffice.models import NamedModel


def test_every_named_model_is_listed_by_name_and_shown_as_its_name():
    # A subclass whose own Meta does not inherit NamedModel.Meta silently loses the name order (Django's rule for
    # an abstract base's Meta): `class Meta(NamedModel.Meta)`.
    named = [model for model in apps.get_models() if issubclass(model, NamedModel)]
    assert len(named) >= 5
    assert {model._meta.label: model._meta.ordering for model in named} == {
        model._meta.label: ["name"] for model in named
    }
    assert all(str(model(name="Some name")) == "Some name" for model in named)
