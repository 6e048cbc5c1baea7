"""Domain errors: what services raise when a business rule refuses a request.

A service raises a `DomainError` (or a subclass) with a stable machine-readable `code`, a human `message` and
optional `details`. It never chooses an HTTP status: `backoffice.api.ERROR_STATUS` maps codes to statuses in one
table, and server-rendered views show `str(error)` (the message).
"""


class DomainError(Exception):
    """A refusal by a business rule. `code` is stable (clients switch on it); `message` is for people."""

    code = "refused"

    def __init__(self, code=None, message="", details=None):
        self.code = code or self.code
        self.message = message
        self.details = details or {}
        super().__init__(message)

    def __str__(self):
        return self.message
