from books.services import BOOK_SHARED
from books.thumbnails import make_book_thumbnails
from outbox.models import Event
from outbox.registry import subscriber


# Writes files, so it runs outside a transaction; it only fills in what is
# missing, so running it again does no harm.
@subscriber(BOOK_SHARED, name="books.make_thumbnails", atomic=False)
def make_shared_book_thumbnails(event: Event) -> None:
    make_book_thumbnails(event.payload["book_id"])
