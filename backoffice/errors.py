"""The base of every domain exception: services raise these with a stable `code`; one API handler maps codes."""


class DomainError(Exception):
    def __init__(self, code, message, details=None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}
