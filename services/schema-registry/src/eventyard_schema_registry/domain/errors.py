"""The registry's errors, each with Confluent's HTTP status and ``error_code``.

::

    RegistryError                       status, error_code, message
    ├── BadRequest                      400/400    the body is not a JSON object of the right shape
    ├── NotFound                        404
    │   ├── SubjectNotFound                 40401
    │   ├── VersionNotFound                 40402
    │   ├── SchemaNotFound                  40403
    │   ├── SubjectSoftDeleted              40404
    │   ├── SubjectNotSoftDeleted           40405
    │   ├── VersionSoftDeleted              40406
    │   ├── VersionNotSoftDeleted           40407
    │   ├── SubjectConfigNotSet             40408
    │   └── SubjectModeNotSet               40409
    ├── IncompatibleSchema              409/409
    ├── Unprocessable                   422
    │   ├── InvalidSchema                   42201
    │   ├── InvalidVersion                  42202
    │   ├── InvalidCompatibilityLevel       42203
    │   ├── InvalidMode                     42204
    │   ├── OperationNotPermitted           42205
    │   └── ReferenceExists                 42206
    └── StoreError                      500/50001  retryable: the database failed

Messages follow Confluent's wording, so clients that match on them keep working.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadRequest",
    "IncompatibleSchema",
    "InvalidCompatibilityLevel",
    "InvalidMode",
    "InvalidSchema",
    "InvalidVersion",
    "NotFound",
    "OperationNotPermitted",
    "ReferenceExists",
    "RegistryError",
    "SchemaNotFound",
    "StoreError",
    "SubjectConfigNotSet",
    "SubjectModeNotSet",
    "SubjectNotFound",
    "SubjectNotSoftDeleted",
    "SubjectSoftDeleted",
    "Unprocessable",
    "VersionNotFound",
    "VersionNotSoftDeleted",
    "VersionSoftDeleted",
]


class RegistryError(Exception):
    """Base of every error the registry answers with; ``retryable`` when trying again may help."""

    status: ClassVar[int] = 500
    error_code: ClassVar[int] = 50001
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    def body(self) -> dict[str, object]:
        """The JSON body Confluent sends for this error."""
        return {"error_code": self.error_code, "message": self.message}


class BadRequest(RegistryError):
    """The request body is not JSON, or not an object with the expected fields."""

    status = 400
    error_code = 400


class NotFound(RegistryError):
    """Something the request names does not exist (or is soft-deleted)."""

    status = 404
    error_code = 404


class SubjectNotFound(NotFound):
    error_code = 40401

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' not found.")


class VersionNotFound(NotFound):
    error_code = 40402

    def __init__(self, version: int | str) -> None:
        super().__init__(f"Version {version} not found.")


class SchemaNotFound(NotFound):
    error_code = 40403

    def __init__(self, schema_id: int | None = None) -> None:
        found = "Schema not found" if schema_id is None else f"Schema {schema_id} not found"
        super().__init__(found)


class SubjectSoftDeleted(NotFound):
    error_code = 40404

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
        )


class SubjectNotSoftDeleted(NotFound):
    error_code = 40405

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' was not deleted first before being permanently deleted"
        )


class VersionSoftDeleted(NotFound):
    error_code = 40406

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"Subject '{subject}' Version {version} was soft deleted."
            "Set permanent=true to delete permanently"
        )


class VersionNotSoftDeleted(NotFound):
    error_code = 40407

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"Subject '{subject}' Version {version} was not deleted first before being "
            "permanently deleted"
        )


class SubjectConfigNotSet(NotFound):
    error_code = 40408

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' does not have subject-level compatibility configured"
        )


class SubjectModeNotSet(NotFound):
    error_code = 40409

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' does not have subject-level mode configured")


class IncompatibleSchema(RegistryError):
    """The schema breaks the subject's compatibility level; ``details`` are the findings."""

    status = 409
    error_code = 409

    def __init__(self, subject: str, details: list[str]) -> None:
        self.details = details
        super().__init__(
            "Schema being registered is incompatible with an earlier schema for subject "
            f'"{subject}", details: [{", ".join(details)}]'
        )


class Unprocessable(RegistryError):
    """The request is well-formed but names something invalid."""

    status = 422
    error_code = 422


class InvalidSchema(Unprocessable):
    error_code = 42201


class InvalidVersion(Unprocessable):
    error_code = 42202

    def __init__(self, version: str) -> None:
        super().__init__(
            f"The specified version '{version}' is not a valid version id. "
            'Allowed values are between [1, 2^31-1] and the string "latest"'
        )


class InvalidCompatibilityLevel(Unprocessable):
    error_code = 42203

    def __init__(self) -> None:
        super().__init__(
            "Invalid compatibility level. Valid values are none, backward, forward, full, "
            "backward_transitive, forward_transitive, and full_transitive"
        )


class InvalidMode(Unprocessable):
    error_code = 42204

    def __init__(self) -> None:
        super().__init__("Invalid mode. Valid values are READWRITE, READONLY and IMPORT.")


class OperationNotPermitted(Unprocessable):
    error_code = 42205


class ReferenceExists(Unprocessable):
    error_code = 42206

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"One or more references exist to the schema {{subject={subject},version={version}}}."
        )


class StoreError(RegistryError):
    """The database could not be reached or failed; retrying may help."""

    status = 500
    error_code = 50001
    retryable = True
