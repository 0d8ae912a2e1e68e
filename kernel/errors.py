"""Typed errors. A business error carries the French message shown to the agent as is."""

from __future__ import annotations

#: A row saved by someone else since the agent opened it.
STALE_MESSAGE = (
    "Cette fiche a été modifiée par un autre poste depuis son ouverture. "
    "Rechargez-la pour voir la version enregistrée, puis refaites votre modification."
)


class GuichetError(Exception):
    """Base of every error the program expects; anything else is a bug."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BusinessError(GuichetError):
    """The agent can fix it: the message says what is wrong and what to do."""


class ValidationError(BusinessError):
    """Input refused; ``fields`` maps each wrong field to its own message, shown beside it."""

    def __init__(self, fields: dict[str, str], message: str = "") -> None:
        super().__init__(message or "\n".join(fields.values()))
        self.fields = fields


class NotFoundError(BusinessError):
    pass


class ConcurrentEditError(BusinessError):
    """Someone saved the same record since it was opened: reload before saving again."""


class PermissionDeniedError(BusinessError):
    pass


class SignInError(BusinessError):
    pass


class SignInLockedError(SignInError):
    """Too many failures in a row: only a supervisor can unlock the user name."""


class SignInThrottledError(SignInError):
    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class EnvironmentProblem(GuichetError):
    """Not the agent's fault and possibly temporary (server unreachable, database locked)."""


class InstallationError(GuichetError):
    """The configuration and the database disagree (wrong currency, unknown agency)."""


class ConfigurationError(GuichetError):
    """The configuration points at something that cannot work (database unreachable or not
    created, a folder that cannot be written): fixing the settings is the only way out. The
    command line answers it with exit code 2."""
