"""Errors every backend raises, carrying what a person needs to hear. Rendering them is ``render``'s job."""

from __future__ import annotations


class BackendError(Exception):
    """Base of every failure talking to Rootly or ilert."""

    def __init__(
        self, message: str, *, status: int | None = None, backend: str = "Rootly", code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.backend = backend
        self.code = code  # the API's machine-readable error code where it sends one (ilert: KEY_ERROR, …)


class NotFound(BackendError):
    """The alert (or other resource) does not exist, or the key cannot see it."""


class Unauthorized(BackendError):
    """The API token was rejected (401) or lacks permission (403)."""


class Invalid(BackendError):
    """422: the request was understood but refused; ``fields`` maps attribute → message where known."""

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.fields = fields or {}


class Conflict(BackendError):
    """The resource's state forbids the action (e.g. 400 "cannot acknowledge open alert")."""


class RateLimited(BackendError):
    """429 past the caller's budget; ``retry_after`` seconds until the window resets."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class Unavailable(BackendError):
    """5xx, timeout or connection failure. ``ambiguous`` when the request may have been applied anyway."""

    def __init__(self, message: str, *, ambiguous: bool = False, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.ambiguous = ambiguous


class Unsupported(BackendError):
    """The backend has no such action (e.g. snoozing an ilert alert)."""
