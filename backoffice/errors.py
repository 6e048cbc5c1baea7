"""The base of every domain refusal a service raises; `backoffice.api.exception_handler` maps codes to HTTP."""


class DomainError(Exception):
    """A business rule said no. `code` is stable and machine-readable; `message` is for people."""

    def __init__(self, code, message, details=None):
        self.code, self.message, self.details = code, message, details or {}
        super().__init__(message)
