"""Domain errors: what services and selectors raise when a request cannot be carried out.

They say what went wrong in the domain's words, never how to answer it: each interface
translates them (the API into problem+json in ``activelog.api.errors``, the browser UI into HTML
pages). ``str(error)`` is a message that can be shown to the person who asked.

Validation errors are Django's ``ValidationError`` (what ``full_clean`` and model validators
raise), so a rule checked by a model field and a rule checked by a service look the same.
"""

from django.core.exceptions import ValidationError

__all__ = [
    "Conflict",
    "ContentTooLarge",
    "DependencyUnavailable",
    "DomainError",
    "NotAuthenticated",
    "NotFound",
    "UnsupportedContent",
    "ValidationError",
]


class DomainError(Exception):
    """Base of the errors below; ``message`` is meant for the person who asked."""

    default_message = "The request could not be carried out."

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(self.message)


class NotFound(DomainError):
    """No such thing for this user: another user's data is indistinguishable from none."""

    default_message = "Not found."


class Conflict(DomainError):
    """The thing exists but is not in a state that allows the request (e.g. a report not ready)."""

    default_message = "The request conflicts with the current state."


class DependencyUnavailable(DomainError):
    """A service the request needs (storage, queue, database) failed in a way that may pass;
    ``retry_after`` is a sensible number of seconds to wait before trying again."""

    default_message = "A service this request needs is unavailable. Try again shortly."

    def __init__(self, message: str | None = None, *, retry_after: int = 30):
        super().__init__(message)
        self.retry_after = retry_after


class NotAuthenticated(DomainError):
    """Presented credentials (a password, a token) do not prove who the caller is."""

    default_message = "Invalid credentials."


class ContentTooLarge(DomainError):
    """An uploaded file is over its size limit."""

    default_message = "The file is too large."


class UnsupportedContent(DomainError):
    """An uploaded file is not of a kind that is accepted."""

    default_message = "This kind of file is not accepted."
