"""Request limits on the endpoints worth abusing: share, sign-up and token.

The rates live in ``settings.THROTTLE_RATES`` and are read on each request
(DRF's own throttles read theirs once, at import), so a changed setting
applies at once. Counts are kept in the default cache.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ScopedThrottle(SimpleRateThrottle):
    """Count requests per user, or per address for anonymous clients."""

    # The methods that count; the others pass freely.
    methods = frozenset({"POST"})

    def get_rate(self) -> str | None:
        return settings.THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        if request.method not in self.methods:
            return True
        # The rate may have changed since this throttle was made.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        if request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"address-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ShareThrottle(ScopedThrottle):
    scope = "share"


class SignUpThrottle(ScopedThrottle):
    scope = "sign_up"


class TokenThrottle(ScopedThrottle):
    scope = "token"
