"""Steps of the member's journey in a real browser, shared by growth's browser test and the project journeys."""

import re

from growth.sms import ConsoleSMSBackend


def sign_up_by_referral_link_and_upload_a_proof(page, base_url, *, referral_code, email, phone, password, app, image):
    """On a phone-sized page: referral link → sign-up → phone code from the console SMS → download → proof."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base_url}/r/{referral_code}/")
    assert page.input_value("input[name=referral_code]") == referral_code
    page.fill("input[name=display_name]", email.split("@")[0].title())
    page.fill("input[name=email]", email)
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password1]", password)
    page.fill("input[name=password2]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/accounts/phone/")

    code = re.search(r"\d{6}", ConsoleSMSBackend.outbox[-1]["body"]).group(0)
    page.fill("input[name=code]", code)
    page.click("button[value=verify]")
    page.wait_for_url(f"{base_url}/apps/")

    page.click(f"text={app.name}")
    page.click("#mark-downloaded")
    page.set_input_files("input[name=image]", str(image))
    page.click("#upload-proof")
    page.wait_for_url(f"{base_url}/me/proofs/")
