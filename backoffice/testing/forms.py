"""Posting an admin form back as it was rendered, for tests that change one field."""


def rendered_form(response):
    """The form a (Wagtail or Django) admin page rendered."""
    return response.context["adminform"].form if "adminform" in response.context else response.context["form"]


def form_data(response):
    """The POST data of the form a (Wagtail or Django) admin page rendered, with its initial values."""
    form = rendered_form(response)
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        if hasattr(value, "all"):
            value = value.all()
        if isinstance(value, list | tuple | set) or hasattr(value, "model"):
            data[name] = [getattr(v, "pk", v) for v in value]
        else:
            data[name] = getattr(value, "pk", value)
    return data
