class ServiceError(Exception):
    """A state change the caller asked for is not allowed; ``message`` is for the user."""

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
