"""QR codes for claim URLs, drawn server-side with segno (pure Python, maintained)."""

from __future__ import annotations

from typing import Any

# Medium error correction survives a smudged print; scale 5 gives ~200 px codes for claim URLs.
QR_ERROR = "m"
QR_SCALE = 5
QR_BORDER = 2


def claim_url(origin: str, base: str, code: str) -> str:
    return f"{origin}{base}/claim/{code}"


def qr_png_data_uri(text: str) -> str:
    import segno  # only the organizer's sheet pays for it

    return str(segno.make(text, error=QR_ERROR).png_data_uri(scale=QR_SCALE, border=QR_BORDER))


def sheet_items(origin: str, base: str, codes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per code: its state, its claim URL and the QR code that encodes that URL."""
    items = []
    for code in codes:
        url = claim_url(origin, base, code["code"])
        items.append(
            {"code": code["code"], "state": code.get("state"), "claim_url": url,
             "qr": qr_png_data_uri(url)}
        )
    return items
