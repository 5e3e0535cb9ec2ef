import pytest
from django.db import transaction

from outbox.models import Delivery
from outbox.publisher import publish

pytestmark = pytest.mark.django_db
State = Delivery.State


def dead_delivery() -> Delivery:
    with transaction.atomic():
        event = publish("test.ok", {"title": "L'Étranger <b>"})
    Delivery.objects.filter(event=event).update(
        state=State.DEAD, attempts=10, last_error="ValueError: x", last_traceback="tb"
    )
    return Delivery.objects.get(event=event)


def test_deliveries_are_listed_and_filtered_by_state(staff):
    delivery = dead_delivery()

    page = staff.get("/admin/outbox/delivery/?state__exact=dead")

    assert page.status_code == 200
    assert f">{delivery.pk}</a>" in page.content.decode()
    assert "ValueError: x" in page.content.decode()


def test_a_delivery_shows_its_payload_readably_and_escaped(staff):
    delivery = dead_delivery()

    page = staff.get(f"/admin/outbox/delivery/{delivery.pk}/change/").content.decode()

    assert "&quot;title&quot;: &quot;L&#x27;Étranger &lt;b&gt;&quot;" in page
    assert "<pre>tb</pre>" in page


def test_retry_action_requeues_dead_deliveries(staff):
    delivery = dead_delivery()

    response = staff.post(
        "/admin/outbox/delivery/",
        {"action": "retry", "_selected_action": [delivery.pk]},
        follow=True,
    )

    delivery.refresh_from_db()
    assert response.status_code == 200
    assert (delivery.state, delivery.attempts) == (State.PENDING, 0)
    assert "1 deliveries queued again." in response.content.decode()


def test_mark_dead_action_stops_a_pending_delivery(staff):
    with transaction.atomic():
        event = publish("test.ok", {})
    delivery = Delivery.objects.get(event=event)

    staff.post(
        "/admin/outbox/delivery/",
        {"action": "mark_dead", "_selected_action": [delivery.pk]},
    )

    delivery.refresh_from_db()
    assert delivery.state == State.DEAD
    assert delivery.last_error == "Marked dead by operator in the admin."
