"""Use cases: each combines domain rules and the database in one transaction."""


class ServiceError(Exception):
    """A use case refused: the message is for the user (Chinese), naming the field or row."""

    def __init__(self, message: str, errors: list | None = None):
        super().__init__(message)
        self.errors = errors or []
