from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password

from backoffice.uploads import validate_image

from .identity import InvalidPhone, normalise_phone


def normalize_phone(value):
    """ASCII E.164, however the number was typed (growth.identity)."""
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        raise forms.ValidationError(str(exc)) from exc


class SignupForm(forms.Form):
    display_name = forms.CharField(
        max_length=40,
        label="Your name",
        help_text="Shown on the leaderboard; pick any name, not your email.",
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(
        max_length=20,
        help_text="International format, e.g. +15551234567.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),  # the rules up front, not only after a failure
    )
    password2 = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    referral_code = forms.CharField(
        max_length=16,
        required=False,
        label="Referral code (optional)",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_display_name(self):
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise forms.ValidationError("Enter a name.")
        if "@" in name:
            raise forms.ValidationError("Choose a name, not an email address.")
        return name

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
    cart_total = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        initial=Decimal("50"),
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    app = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any app")
    cart_reference = forms.CharField(
        max_length=64, required=False, label="Order reference", help_text="The purchase or order this cart is."
    )

    def __init__(self, *args, apps=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["app"].queryset = apps
