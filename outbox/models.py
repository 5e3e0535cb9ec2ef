from django.db import models


class Event(models.Model):
    """A fact published inside the transaction that made it true."""

    topic = models.CharField(max_length=100)
    key = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    replay_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replays",
        help_text="The past event this one delivers again.",
    )

    class Meta:
        indexes = [models.Index(fields=["topic", "created_at"])]

    def __str__(self):
        return f"{self.topic} #{self.pk}"


class Delivery(models.Model):
    """One event handed to one subscriber, with its own state and retries."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        DEAD = "dead", "Dead"

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="deliveries"
    )
    subscriber = models.CharField(max_length=100)
    # Copied from the event and the subscriber when published, so that claims
    # can keep per-key order without a join.
    key = models.CharField(max_length=200, blank=True)
    ordered = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    available_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_traceback = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscriber"],
                name="outbox_delivery_once_per_subscriber",
            )
        ]
        indexes = [
            models.Index(fields=["state", "available_at", "id"]),
            models.Index(fields=["state", "leased_until"]),
            models.Index(fields=["state", "done_at"]),
            models.Index(
                fields=["subscriber", "key", "id"],
                condition=models.Q(ordered=True) & ~models.Q(state="done"),
                name="outbox_delivery_unfinished_key",
            ),
        ]

    def __str__(self):
        return f"{self.subscriber} <- event #{self.event_id} ({self.state})"
