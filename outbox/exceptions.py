class OutboxError(Exception):
    """Base class of the outbox's own errors."""


class NotInTransaction(OutboxError):
    """publish() was called outside a transaction, so the event could outlive a
    rollback of the change it describes."""


class RetryLater(OutboxError):
    """Raised by a handler that made what progress it could and wants to be
    called again after ``delay_s`` seconds (for example a provider's
    Retry-After)."""

    def __init__(self, message: str, delay_s: float):
        super().__init__(message)
        self.delay_s = delay_s
