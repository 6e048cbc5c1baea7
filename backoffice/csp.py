"""Content-Security-Policy (django-csp 4): the policy is CONTENT_SECURITY_POLICY in settings/base.py.

Why a subclass: the public site and the API docs run no inline script at all, so their policy is strict
(`script-src 'self'`). Wagtail 8's own admin templates still write a few inline scripts (date/time
pickers, inline panels), so under CSP_RELAXED_SCRIPT_PREFIXES the policy also allows inline scripts;
everything else (no third-party origins, no plugins, no framing by others, forms post only here) holds
everywhere.
"""

from csp.middleware import CSPMiddleware
from django.conf import settings


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        relaxed = request.path_info.startswith(tuple(settings.CSP_RELAXED_SCRIPT_PREFIXES))
        if relaxed and not report_only and getattr(response, "_csp_update", None) is None:
            response._csp_update = {"script-src": ["'unsafe-inline'"]}
        return super().get_policy_parts(request, response, report_only)
