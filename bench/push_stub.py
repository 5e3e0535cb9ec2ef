"""A stand-in for Expo's push service on 127.0.0.1, for the benchmarks.

    python bench/push_stub.py [--delay-ms 50]

Prints the port it listens on, then serves until killed:

- ``POST /--/api/v2/push/send`` takes a list of messages (or one), waits the
  delay (about a real provider's round trip), and answers Expo's success
  body: one ``{"status": "ok", "id": ...}`` ticket per message, in order.
- ``GET /stats`` tells what it received, per book (``data.book_id``): for
  tokens of the form ``ExponentPushToken[bench-h<hub>-u<user>]``, how many
  distinct users of each hub got it, and how many pushes repeated a
  (book, token) pair already received.
"""

import argparse
import json
import re
import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEND_PATH = "/--/api/v2/push/send"
BENCH_TOKEN = re.compile(r"ExponentPushToken\[bench-h(\d+)-u(\d+)\]\Z")


class Ledger:
    """What was pushed, per book; safe to share between request threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.pushes = 0
        self.repeats = 0
        self.unknown = 0
        # book id -> hub -> the users of that hub who got it
        self.received: dict[str, dict[str, set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )

    def record(self, messages: list[dict]) -> None:
        with self.lock:
            self.requests += 1
            for message in messages:
                self.record_one(message)

    def record_one(self, message: dict) -> None:
        self.pushes += 1
        book = str((message.get("data") or {}).get("book_id", ""))
        match = BENCH_TOKEN.match(str(message.get("to", "")))
        if not book or not match:
            self.unknown += 1
            return
        hub, user = match.groups()
        users = self.received[book][hub]
        if user in users:
            self.repeats += 1
        users.add(user)

    def stats(self) -> dict:
        with self.lock:
            books = {
                book: {hub: len(users) for hub, users in hubs.items()}
                for book, hubs in self.received.items()
            }
            return {
                "requests": self.requests,
                "pushes": self.pushes,
                "repeats": self.repeats,
                "unknown": self.unknown,
                "books": books,
            }


def make_handler(ledger: Ledger, delay_s: float):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"[]")
            if self.path != SEND_PATH:
                self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": ""}]})
                return
            messages = body if isinstance(body, list) else [body]
            time.sleep(delay_s)
            ledger.record(messages)
            tickets = [{"status": "ok", "id": str(uuid.uuid4())} for _ in messages]
            self.reply(200, {"data": tickets if isinstance(body, list) else tickets[0]})

        def do_GET(self):
            if self.path != "/stats":
                self.reply(404, {})
                return
            self.reply(200, ledger.stats())

        def reply(self, status: int, content: dict) -> None:
            data = json.dumps(content).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=50)
    args = parser.parse_args()

    handler = make_handler(Ledger(), args.delay_ms / 1000)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
