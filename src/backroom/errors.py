"""One exception tree for backroom; callers catch at exactly the level they need.

    BackroomError                      every error we raise on purpose
    ├── ConfigurationError             settings missing or inconsistent (exit code 2)
    ├── InvalidInput                   a payload or request we cannot accept (HTTP 400/422, kept in the inbox)
    │   └── SignatureInvalid           a signed input whose signature does not verify (HTTP 401)
    ├── NotFound                       no such order / review item / store in this store's scope (HTTP 404)
    ├── Conflict                       the action is not allowed in the current state (HTTP 409)
    └── EffectFailed                   an effect's remote call failed (retried, then reviewed)

Each carries a stable ``code`` (a str) that the API, CLI and UI show.
"""

from __future__ import annotations


class BackroomError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigurationError(BackroomError):
    code = "configuration_error"


class InvalidInput(BackroomError):
    code = "invalid_input"


class SignatureInvalid(InvalidInput):
    code = "signature_invalid"


class NotFound(BackroomError):
    code = "not_found"


class Conflict(BackroomError):
    code = "conflict"


class EffectFailed(BackroomError):
    code = "effect_failed"


class RetryableConflict(BackroomError):
    """A transient clash with a concurrent transaction (deadlock, serialization failure); safe to run again."""

    code = "retryable_conflict"
