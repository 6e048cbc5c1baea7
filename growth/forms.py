from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password

from backoffice.uploads import validate_image

from .identity import InvalidPhone, normalise_phone


def normalize_phone(value):
    """ASCII E.164, however the number was typed (growth.identity)."""
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        raise forms.ValidationError(str(exc)) from exc


class SignupForm(forms.Form):
    email = forms.EmailField(max_length=254)
    phone = forms.CharField(max_length=20, help_text="International format, e.g. +15551234567.")
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput)
    referral_code = forms.CharField(max_length=16, required=False, label="Referral code (optional)")

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", "The two passwords differ.")
        elif data.get("password1"):
            candidate = get_user_model()(email=data.get("email", ""), phone=data.get("phone", ""))
            try:
                validate_password(data["password1"], candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class OTPForm(forms.Form):
    code = forms.CharField(
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class ProofForm(forms.Form):
    image = forms.ImageField(validators=[validate_image], help_text="A screenshot showing the installed app.")


class CartForm(forms.Form):
    cart_total = forms.DecimalField(min_value=Decimal("0"), max_digits=12, decimal_places=2, initial=Decimal("50"))
    app = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any app")

    def __init__(self, *args, apps=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["app"].queryset = apps
