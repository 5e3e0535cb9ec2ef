"""The admin in a real browser: moderators hide books, operators retry deliveries."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission

from books.models import Book
from books.moderation import report_book
from notifications.models import Notification
from outbox.models import Delivery, Event
from tests.books.moderating import (
    log_messages,
    make_moderator,
    notification_statuses,
    script_pushes,
    share_at,
    statuses_of,
    three_books_with_news_pending,
    travel,
)
from tests.conftest import run_relay_until_idle
from tests.factories import make_user

PASSWORD = "correct-horse-42"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scripted(settings):
    return script_pushes(settings)


def test_a_moderator_hides_two_books_with_one_action(
    page, live_server, sign_in, screenshot, scripted
):
    first, second, third = three_books_with_news_pending(scripted)
    moderator = make_moderator("moderator", PASSWORD)
    for book in (first, third):
        report_book(book.pk, make_user(), "Advertising, not a book")

    sign_in("moderator", PASSWORD)
    page.goto(f"{live_server.url}/admin/books/book/")
    for book in (first, second):
        page.check(f'input[name="_selected_action"][value="{book.pk}"]')
    page.select_option('select[name="action"]', "hide_books")
    screenshot("0-selected")
    page.click('button[name="index"]')

    page.get_by_text("Hide these 2 books?").wait_for()
    page.fill('textarea[name="reason"]', "Spam: the same ad in every book")
    screenshot("1-reason")
    page.click('input[type="submit"][value="Yes, hide them"]')

    page.get_by_text("2 books hidden.").wait_for()
    rows = {
        book.pk: page.locator(f'tr:has(input[value="{book.pk}"])')
        for book in (first, second, third)
    }
    # Status and open reports: hiding resolved the first book's report.
    assert cells(rows[first.pk]) == ["Hidden by a moderator", "0"]
    assert cells(rows[second.pk]) == ["Hidden by a moderator", "0"]
    assert cells(rows[third.pk]) == ["Available", "1"]
    screenshot("2-hidden")

    assert statuses_of(first, second, third) == ["hidden", "hidden", "available"]
    reason = "Hidden: Spam: the same ad in every book"
    assert [log_messages(b) for b in (first, second, third)] == [[reason], [reason], []]
    # One entry per book hidden, and one for the report it resolved.
    logged = LogEntry.objects.filter(user=moderator).values_list(
        "content_type__model", flat=True
    )
    assert sorted(logged) == ["book", "book", "report"]
    assert Event.objects.filter(topic="book.hidden").count() == 2

    run_relay_until_idle()
    travel(3600)
    run_relay_until_idle()
    assert notification_statuses(first) == ["cancelled", "cancelled"]
    assert Notification.objects.filter(book=second).count() == 0
    # The third book, left shown, is announced as usual.
    assert notification_statuses(third) == ["sent", "sent"]
    assert {m.title for batch in scripted.batches for m in batch} == {
        "New book near you: Third"
    }


def cells(row) -> list[str]:
    """The status and open-report cells of a book's row in the list."""
    return [
        row.locator("td.field-status").inner_text(),
        row.locator("td.field-open_reports").inner_text(),
    ]


def test_a_user_who_is_not_staff_is_refused(page, live_server, sign_in, screenshot):
    make_user("reader", password=PASSWORD)
    book = share_at(title="Dune")

    sign_in("reader", PASSWORD)

    page.get_by_text("Please enter the correct username and password").wait_for()
    assert "/admin/login/" in page.url
    screenshot("refused")
    page.goto(f"{live_server.url}/admin/books/book/")
    assert "/admin/login/" in page.url
    assert page.locator("#result_list").count() == 0
    assert Book.objects.get(pk=book.pk).status == "available"


def test_an_operator_retries_a_dead_delivery(page, live_server, sign_in, screenshot):
    book = share_at(title="Dune")
    announce = Delivery.objects.get(subscriber="notifications.announce")
    Delivery.objects.filter(pk=announce.pk).update(
        state=Delivery.State.DEAD,
        attempts=10,
        last_error="OperationalError: could not connect to the database",
    )
    operator = make_user("operator", password=PASSWORD)
    operator.is_staff = True
    operator.save()
    operator.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="outbox",
            codename__in=["view_delivery", "change_delivery", "view_event"],
        )
    )

    sign_in("operator", PASSWORD)
    page.goto(f"{live_server.url}/admin/outbox/delivery/?state__exact=dead")
    page.get_by_text("Dead: 1.").wait_for()
    row = page.locator(f'tr:has(input[value="{announce.pk}"])')
    assert "could not connect to the database" in row.inner_text()
    page.check(f'input[name="_selected_action"][value="{announce.pk}"]')
    page.select_option('select[name="action"]', "retry")
    screenshot("1-dead")
    page.click('button[name="index"]')

    page.get_by_text("1 deliveries queued again.").wait_for()
    page.goto(
        f"{live_server.url}/admin/outbox/delivery/?subscriber=notifications.announce"
    )
    row = page.locator(f'tr:has(input[value="{announce.pk}"])')
    assert "Pending" in row.inner_text()
    screenshot("2-queued")
    page.goto(f"{live_server.url}/admin/outbox/delivery/{announce.pk}/change/")
    page.get_by_text(f'"book_id": {book.pk}').wait_for()
    screenshot("3-detail")

    announce.refresh_from_db()
    assert (announce.state, announce.attempts) == (Delivery.State.PENDING, 0)
    run_relay_until_idle()
    announce.refresh_from_db()
    assert announce.state == Delivery.State.DONE
