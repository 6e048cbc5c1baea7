"""DRF throttles for every API endpoint (DEFAULT_THROTTLE_CLASSES), keyed on backoffice.net.client_ip.

They protect capacity only (every write behind them has its own database guard), so when the cache is
down they let the request through and log a warning instead of answering 500.
"""

import logging

from rest_framework import throttling

from .net import client_ip

logger = logging.getLogger(__name__)


class _FailOpen:
    def get_ident(self, request):
        return client_ip(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("API throttle %s: cache unavailable, allowing", type(self).__name__)
            return True


class AnonRateThrottle(_FailOpen, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_FailOpen, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_FailOpen, throttling.ScopedRateThrottle):
    pass
