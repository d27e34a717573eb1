"""Security headers of the pages and assets: a strict Content-Security-Policy and friends."""

from __future__ import annotations

from urllib.parse import urlsplit

# Assets are named by their hash: a name never changes meaning, so browsers may keep it a year.
ASSET_CACHE = "public, max-age=31536000, immutable"
# Pages name the current assets, so they are revalidated on every visit.
PAGE_CACHE = "no-cache"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(rpc_urls: tuple[str, ...]) -> str:
    """No inline script or style, nothing from elsewhere; fetch only the API and the RPCs."""
    connect = " ".join(["'self'", *sorted({_origin(u) for u in rpc_urls})])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            # QR codes come as data: URIs in the organizer's sheet.
            "img-src 'self' data:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(rpc_urls: tuple[str, ...]) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(rpc_urls),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
