"""Refusals of the growth write paths that server-rendered forms show (campaigns: growth.campaigns)."""


class SignupRefused(Exception):
    """Sign-up cannot go ahead; `field` names the form field at fault (or None)."""

    def __init__(self, message, field=None):
        self.field = field
        super().__init__(message)


class ReferralRefused(SignupRefused):
    """The referral code cannot be used: unknown, self-referral, a second referral or a cycle."""

    def __init__(self, message):
        super().__init__(message, field="referral_code")


class OTPRefused(Exception):
    """A code cannot be sent or checked now; the message says why and `retry_at` when, if known."""

    def __init__(self, message, retry_at=None):
        self.retry_at = retry_at
        super().__init__(message)
