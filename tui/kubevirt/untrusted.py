"""Reading manifests that come from the cluster: untrusted input.

A field can be missing, null or of the wrong type, and whatever reads it must still work.
These helpers turn anything unexpected into "empty".
"""

from __future__ import annotations

from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)
