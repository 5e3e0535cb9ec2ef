"""Push providers played on loopback, strict about requests as their docs are.

Each peer is a small HTTP/1.1 server on 127.0.0.1 in a thread. It checks each
request the way the provider documents it and answers with the provider's
documented success or error bodies. A request it finds wrong is answered the
way the provider would (400 or 401) and listed in ``problems``, which the
tests expect to stay empty.
"""

import base64
import itertools
import json
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
EXPO_PATH = "/--/api/v2/push/send"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)


class Peer:
    """A loopback server; subclasses answer requests in ``handle``."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.problems: list[str] = []
        # While set, every request gets this reply (an outage).
        self.outage: Reply | None = None
        self.delay_s = 0.0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Peer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def answer(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            outage = self.outage if self.is_down_for(request) else None
        if self.delay_s:
            time.sleep(self.delay_s)
        if outage is not None:
            return outage
        return self.handle(request)

    def is_down_for(self, request: Request) -> bool:
        return True

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def refuse(self, reply: Reply, problem: str) -> Reply:
        with self.lock:
            self.problems.append(problem)
        return reply

    def handler_class(self):
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5
            # Headers and body in one write: two small writes meet the
            # client's delayed ACK and cost 40 ms a response.
            wbufsize = 64 * 1024

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                request = Request(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                self.send(peer.answer(request))

            def send(self, reply: Reply) -> None:
                body = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        return Handler


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def read_jwt(token: str) -> tuple[dict, dict, bytes, bytes]:
    """Split a JWT into header, claims, signed bytes and signature."""
    header, claims, signature = token.split(".")
    return (
        json.loads(b64url_decode(header)),
        json.loads(b64url_decode(claims)),
        f"{header}.{claims}".encode(),
        b64url_decode(signature),
    )


# --- FCM HTTP v1, and Google's OAuth 2.0 token endpoint -----------------------


def google_error(code: int, status: str, message: str, *details) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "status": status,
            "details": list(details),
        }
    }


def fcm_error(code: int, status: str, error_code: str, message: str) -> Reply:
    detail = {
        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": error_code,
    }
    return Reply(code, google_error(code, status, message, detail))


def bad_request(field_name: str, description: str) -> Reply:
    detail = {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": field_name, "description": description}],
    }
    return Reply(400, google_error(400, "INVALID_ARGUMENT", description, detail))


def retry_after(reply: Reply, seconds: str) -> Reply:
    reply.headers["Retry-After"] = seconds
    return reply


def fcm_outage(seconds: str | None = "60") -> Reply:
    reply = fcm_error(503, "UNAVAILABLE", "UNAVAILABLE", "The service is unavailable.")
    return reply if seconds is None else retry_after(reply, seconds)


FCM_ANSWERS = {
    "unregistered": lambda: fcm_error(
        404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."
    ),
    "invalid_token": lambda: bad_request(
        "message.token", "The registration token is not a valid FCM registration token"
    ),
    "too_big": lambda: bad_request(
        "message", "Message is too big: 4200 bytes, the limit is 4096"
    ),
    "sender_mismatch": lambda: fcm_error(
        403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"
    ),
    "quota": lambda: retry_after(
        fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded."), "120"
    ),
    "unavailable": lambda: fcm_outage("60"),
    "internal": lambda: fcm_error(500, "INTERNAL", "INTERNAL", "Internal error."),
}


class ServiceAccount:
    """A service account of our own making: an RSA key and its JSON file."""

    def __init__(self, project_id: str = "sharebook-test"):
        self.project_id = project_id
        self.email = f"push@{project_id}.iam.gserviceaccount.com"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def write(self, path, token_uri: str) -> str:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        info = {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": "test-key-1",
            "private_key": pem,
            "client_email": self.email,
            "client_id": "100000000000000000001",
            "token_uri": token_uri,
        }
        path.write_text(json.dumps(info))
        return str(path)


class FcmPeer(Peer):
    """Google's token endpoint at /token and FCM's messages:send.

    An ``outage`` takes FCM down; ``token_outage`` the token endpoint.
    """

    def __init__(self, account: ServiceAccount):
        super().__init__()
        self.account = account
        self.answers: dict[str, str] = {}
        self.delivered: list[dict] = []
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.names = itertools.count(1)
        self.token_outage: Reply | None = None

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def is_down_for(self, request: Request) -> bool:
        return request.path != "/token"

    def handle(self, request: Request) -> Reply:
        if request.path == "/token":
            return self.grant_token(request)
        if request.path == f"/v1/projects/{self.account.project_id}/messages:send":
            return self.send_message(request)
        return self.refuse(
            Reply(404, google_error(404, "NOT_FOUND", "No such path")),
            f"unknown path {request.path}",
        )

    def grant_token(self, request: Request) -> Reply:
        if self.token_outage is not None:
            return self.token_outage
        form = urllib.parse.parse_qs(request.body.decode())
        problem = self.check_grant(request, form)
        if problem:
            error = {"error": "invalid_grant", "error_description": problem}
            return self.refuse(Reply(400, error), problem)
        token = f"ya29.test-{uuid.uuid4().hex}"
        with self.lock:
            self.issued.append(token)
        return Reply(
            200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        )

    def check_grant(self, request: Request, form: dict) -> str:
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return "token request is not form-encoded"
        if form.get("grant_type") != [JWT_BEARER]:
            return f"grant_type is {form.get('grant_type')}"
        header, claims, signed, signature = read_jwt(form["assertion"][0])
        if header.get("alg") != "RS256":
            return f"assertion signed with {header.get('alg')}"
        try:
            self.account.key.public_key().verify(
                signature, signed, padding.PKCS1v15(), hashes.SHA256()
            )
        except Exception:  # noqa: BLE001 - any failure is a bad signature
            return "assertion signature does not verify"
        now = time.time()
        checks = {
            "iss": claims.get("iss") == self.account.email,
            # Google's documented audience, wherever the token endpoint is.
            "aud": claims.get("aud") == GOOGLE_TOKEN_AUDIENCE,
            "scope": FCM_SCOPE in claims.get("scope", "").split(),
            "time": claims["iat"] - 60 <= now <= claims["exp"],
            "lifetime": claims["exp"] - claims["iat"] <= 3600,
        }
        wrong = [name for name, ok in checks.items() if not ok]
        return f"assertion claims wrong: {wrong}" if wrong else ""

    def send_message(self, request: Request) -> Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return Reply(
                401,
                google_error(
                    401,
                    "UNAUTHENTICATED",
                    "Request had invalid authentication credentials.",
                ),
            )
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self.refuse(bad_request("", "Send JSON"), "body is not JSON")
        problem = check_fcm_message(request.json())
        if problem:
            return self.refuse(bad_request("message", problem), problem)

        message = request.json()["message"]
        answer = self.answers.get(message["token"], "ok")
        if answer != "ok":
            return FCM_ANSWERS[answer]()
        with self.lock:
            self.delivered.append(message)
        name = f"projects/{self.account.project_id}/messages/0:{next(self.names)}"
        return Reply(200, {"name": name})

    def delivered_tokens(self) -> list[str]:
        return sorted(message["token"] for message in self.delivered)


def check_fcm_message(body: dict) -> str:
    """What the Message resource of FCM HTTP v1 would find wrong, if anything."""
    if set(body) - {"message", "validate_only"}:
        return f"unknown fields {set(body) - {'message', 'validate_only'}}"
    message = body.get("message")
    if not isinstance(message, dict):
        return "no message"
    targets = [key for key in ("token", "topic", "condition") if key in message]
    if targets != ["token"] or not isinstance(message["token"], str):
        return f"a message needs exactly one target, got {targets}"
    allowed = {
        "token",
        "notification",
        "data",
        "android",
        "apns",
        "webpush",
        "fcm_options",
    }
    if set(message) - allowed:
        return f"unknown message fields {set(message) - allowed}"
    notification = message.get("notification", {})
    if set(notification) - {"title", "body", "image"}:
        return "unknown notification fields"
    if not all(isinstance(v, str) for v in notification.values()):
        return "notification fields must be strings"
    data = message.get("data", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return "data must map strings to strings"
    if any(key in ("from", "gcm") or key.startswith("google") for key in data):
        return "data uses a reserved key"
    return ""


# --- Expo push service ---------------------------------------------------------


def expo_errors(code: str, message: str) -> dict:
    return {"errors": [{"code": code, "message": message}]}


class ExpoPeer(Peer):
    """Expo's /--/api/v2/push/send: up to 100 messages, one ticket each."""

    def __init__(self, access_token: str = ""):
        super().__init__()
        self.access_token = access_token
        self.answers: dict[str, str] = {}
        self.delivered: list[dict] = []
        self.batch_sizes: list[int] = []

    @property
    def send_url(self) -> str:
        return f"{self.url}{EXPO_PATH}"

    def handle(self, request: Request) -> Reply:
        if request.path != EXPO_PATH:
            return self.refuse(
                Reply(404, expo_errors("NOT_FOUND", "No such path")),
                f"unknown path {request.path}",
            )
        if self.access_token and request.headers.get("authorization") != (
            f"Bearer {self.access_token}"
        ):
            return Reply(401, expo_errors("UNAUTHORIZED", "Access token is missing."))
        problem = check_expo_headers(request.headers)
        if problem:
            return self.refuse(
                Reply(400, expo_errors("VALIDATION_ERROR", problem)), problem
            )

        body = request.json()
        messages = body if isinstance(body, list) else [body]
        with self.lock:
            self.batch_sizes.append(len(messages))
        if len(messages) > 100:
            problem = f"{len(messages)} notifications in one request"
            reply = Reply(400, expo_errors("PUSH_TOO_MANY_NOTIFICATIONS", problem))
            return self.refuse(reply, problem)
        for message in messages:
            problem = check_expo_message(message)
            if problem:
                return Reply(400, expo_errors("VALIDATION_ERROR", problem))
            if self.answers.get(message["to"]) == "malformed":
                # What Expo says of a request holding a token it cannot parse.
                return Reply(
                    400,
                    expo_errors(
                        "VALIDATION_ERROR",
                        f'"to" has an invalid token: {message["to"]}',
                    ),
                )
        tickets = [self.ticket(message) for message in messages]
        return Reply(200, {"data": tickets if isinstance(body, list) else tickets[0]})

    def ticket(self, message: dict) -> dict:
        answer = self.answers.get(message["to"], "ok")
        if answer == "ok":
            with self.lock:
                self.delivered.append(message)
            return {"status": "ok", "id": str(uuid.uuid4())}
        error, text = {
            "unregistered": (
                "DeviceNotRegistered",
                f'"{message["to"]}" is not a registered push notification recipient',
            ),
            "too_big": ("MessageTooBig", "Message too big: 5000 bytes, limit 4096"),
            "rate": ("MessageRateExceeded", "Too many messages to this device"),
            "credentials": ("InvalidCredentials", "Unable to find FCM credentials"),
        }[answer]
        return {"status": "error", "message": text, "details": {"error": error}}

    def delivered_tokens(self) -> list[str]:
        return sorted(message["to"] for message in self.delivered)


def check_expo_headers(headers: dict) -> str:
    if not headers.get("content-type", "").startswith("application/json"):
        return "content-type must be application/json"
    if "application/json" not in headers.get("accept", ""):
        return "accept must be application/json"
    return ""


def check_expo_message(message: dict) -> str:
    if not isinstance(message, dict):
        return "a message is an object"
    to = message.get("to")
    if not isinstance(to, str) or not to.startswith(
        ("ExponentPushToken[", "ExpoPushToken[")
    ):
        return f'"to" is not an Expo push token: {to!r}'
    for name in ("title", "body"):
        if name in message and not isinstance(message[name], str):
            return f'"{name}" must be a string'
    if "data" in message and not isinstance(message["data"], dict):
        return '"data" must be an object'
    return ""


# --- Web Push: a push service, and the browser's side of a subscription -------


@dataclass
class Browser:
    """What a browser keeps of a subscription: its private key and auth secret."""

    key: ec.EllipticCurvePrivateKey
    auth: bytes
    received: list[str] = field(default_factory=list)


class WebPushPeer(Peer):
    """A push service (RFC 8030) that checks VAPID and decrypts what it gets.

    ``subscribe()`` plays the browser: it makes a key pair and an auth secret
    and returns the subscription JSON that PushSubscription.toJSON() would.
    """

    def __init__(self, vapid_public_key: bytes):
        super().__init__()
        self.vapid_public_key = vapid_public_key
        self.browsers: dict[str, Browser] = {}
        self.answers: dict[str, str] = {}
        self.numbers = itertools.count(1)

    def subscribe(self) -> dict:
        key = ec.generate_private_key(ec.SECP256R1())
        name = uuid.uuid4().hex
        self.browsers[name] = Browser(key=key, auth=uuid.uuid4().bytes)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.url}/push/{name}",
            "expirationTime": None,
            "keys": {
                "p256dh": b64url(public),
                "auth": b64url(self.browsers[name].auth),
            },
        }

    def received(self, subscription: dict) -> list[str]:
        return self.browsers[subscription["endpoint"].rsplit("/", 1)[1]].received

    def handle(self, request: Request) -> Reply:
        name = request.path.removeprefix("/push/")
        browser = self.browsers.get(name)
        if browser is None:
            return Reply(404)
        problem = self.check_vapid(request.headers.get("authorization", ""))
        if problem:
            return self.refuse(Reply(401), problem)
        problem = check_push_headers(request.headers)
        if problem:
            return self.refuse(Reply(400), problem)

        answer = self.answers.get(name, "ok")
        if answer != "ok":
            return {
                "gone": Reply(410),
                "not_found": Reply(404),
                "too_big": Reply(413),
                "rate": Reply(429, headers={"Retry-After": "30"}),
                "unavailable": Reply(503, headers={"Retry-After": "45"}),
            }[answer]
        try:
            text = http_ece.decrypt(
                request.body,
                private_key=browser.key,
                auth_secret=browser.auth,
                version="aes128gcm",
            ).decode()
        except Exception as error:  # noqa: BLE001 - any failure: not for this key
            return self.refuse(Reply(400), f"payload does not decrypt: {error}")
        with self.lock:
            browser.received.append(text)
        return Reply(
            201, headers={"Location": f"{self.url}/message/{next(self.numbers)}"}
        )

    def check_vapid(self, authorization: str) -> str:
        """RFC 8292: ``vapid t=<ES256 JWT>, k=<application server key>``."""
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            return f"authorization scheme is {scheme!r}, not vapid"
        values = dict(
            part.strip().split("=", 1) for part in params.split(",") if "=" in part
        )
        if b64url_decode(values.get("k", "")) != self.vapid_public_key:
            return "k is not the key the subscription was made with"
        header, claims, signed, signature = read_jwt(values.get("t", ".."))
        if header.get("alg") != "ES256" or len(signature) != 64:
            return "the token is not ES256"
        public = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), self.vapid_public_key
        )
        r, s = (int.from_bytes(signature[:32]), int.from_bytes(signature[32:]))
        try:
            public.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
        except Exception:  # noqa: BLE001 - any failure is a bad signature
            return "the VAPID signature does not verify"
        if claims.get("aud") != self.url:
            return f"aud is {claims.get('aud')}, not {self.url}"
        if not time.time() < claims.get("exp", 0) <= time.time() + 24 * 3600:
            return "exp is not within the next 24 hours"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return "sub is not a mailto: or https: contact"
        return ""


def check_push_headers(headers: dict) -> str:
    if not headers.get("ttl", "").isdigit():
        return "TTL header missing"
    if headers.get("content-encoding") != "aes128gcm":
        return f"content-encoding is {headers.get('content-encoding')}"
    return ""
