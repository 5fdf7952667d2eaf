"""Values people typed, made safe for a one-line header (an e-mail subject).

Django refuses a header value with CR or LF (``BadHeaderError``: header injection), which
would silently kill the message (a lead named "Ann\\r\\nBcc: …" and the owner never hears of
it). Line breaks and other control characters become spaces instead.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def header_safe(value: object, *, limit: int = 200) -> str:
    """``value`` on one line: control characters (CR, LF, tab …) as single spaces, trimmed."""
    text = _CONTROL.sub(" ", str(value))
    return re.sub(r" {2,}", " ", text).strip()[:limit]
