# Registers the test subscribers before any test publishes to their topics.
from tests.outbox import handlers  # noqa: F401
