"""Use cases: each combines domain rules and the database in one transaction."""


class ServiceError(Exception):
    """A use case refused: the message is for the user (Chinese), naming the field or row.

    Plain ``ServiceError`` means the input was invalid (HTTP 400); the subclasses say
    more, and web.errors maps each to its status in one place."""

    status = 400

    def __init__(self, message: str, errors: list | None = None):
        super().__init__(message)
        self.errors = errors or []


class Invalid(ServiceError):
    """The request breaks a rule of the use case (HTTP 422 on the API)."""

    status = 422


class NotFound(ServiceError):
    """What the request names does not exist (HTTP 404)."""

    status = 404


class Conflict(ServiceError):
    """The data's current state does not allow it: already done, taken, or changed by someone else (HTTP 409)."""

    status = 409
