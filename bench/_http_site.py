"""Settings for bench/http_load.py: production settings, plus the bench's URLconf with one trivial view.

Nothing here is imported by the product.
"""

import os

from backoffice.settings.production import *  # noqa: F403

ROOT_URLCONF = "_http_urls"
STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT", STATIC_ROOT)  # noqa: F405
# Throttles still count every request (their cost is measured) but never refuse: capacity is what is measured.
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "1000000/minute"),  # noqa: F405
}
