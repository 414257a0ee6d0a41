"""Which SDK sent something, and which part of the app that makes it.

Pure. SDKs name themselves `sentry.<platform>.<package>` (sentry.python,
sentry.javascript.react, sentry.javascript.react-native...); the trace view
groups spans into web, mobile and backend by that name, or by the platform
when no SDK is named.
"""

from __future__ import annotations

import functools

# JS SDKs that run in a browser (the last part of sentry.javascript.<name>).
BROWSER_SDKS = {"browser", "react", "vue", "angular", "svelte", "ember", "solid", "gatsby", "astro"}
MOBILE_PLATFORMS = {"android", "cocoa", "ios", "flutter", "dart"}
# Words in the names of mobile SDKs (sentry.javascript.react-native, sentry.cocoa...).
MOBILE_SDK_WORDS = ("react-native", "android", "cocoa", "flutter")


@functools.lru_cache(maxsize=256)
def service_category(sdk_name: str | None, platform: str | None) -> str:
    """web, mobile or backend: which part of the app a span came from."""
    name = (sdk_name or "").lower()
    if any(word in name for word in MOBILE_SDK_WORDS) or platform in MOBILE_PLATFORMS:
        return "mobile"
    if name.startswith("sentry.javascript.") and name.rsplit(".", 1)[-1] in BROWSER_SDKS:
        return "web"
    return "backend" if name or platform else "unknown"


def platform_of(sdk_name: str | None) -> str | None:
    """v2 spans name no platform; the SDK does (sentry.javascript.node…)."""
    name = sdk_name or ""
    if name == "sentry.javascript.node" or name.startswith("sentry.javascript.node"):
        return "node"
    if name.startswith("sentry.javascript."):
        return "javascript"
    if name.startswith("sentry.python"):
        return "python"
    return None
