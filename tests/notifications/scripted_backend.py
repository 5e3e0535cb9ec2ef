"""A push backend whose answers each test scripts, per token."""

from notifications.backends import Outcome, PushBackend, PushMessage, PushResult

answers: dict[str, PushResult] = {}
batches: list[list[PushMessage]] = []


class ScriptedBackend(PushBackend):
    max_batch = 3

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        batches.append(list(messages))
        return [answers.get(m.token, PushResult(Outcome.SENT)) for m in messages]
