"""Label and field selectors, parsed and matched as the Kubernetes API server does."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tui.demo.errors import ApiError
from tui.kubevirt.selectors import SelectorError
from tui.kubevirt.selectors import parse_label_selector as _parse_label_selector

Requirement = Callable[[dict[str, str]], bool]


def parse_label_selector(text: str | None) -> Requirement:
    """A predicate over a labels dict; raises a 400 ApiError on a malformed selector.

    The parser lives in tui.kubevirt.selectors (the list filter's `-l` uses it too); the
    demo only turns its error into the API server's 400.
    """
    try:
        return _parse_label_selector(text)
    except SelectorError as exc:
        raise ApiError(400, str(exc)) from None


# Field selectors a kind supports, beyond metadata.name and metadata.namespace (which all do).
EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "reason",
        "type",
        "source",
    ),
    "pods": ("spec.nodeName", "status.phase"),
    "namespaces": ("status.phase",),
}


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if isinstance(cur, dict):  # events' `source` is an object; the server matches source.component
        cur = cur.get("component", "")
    return "" if cur is None else str(cur)


def parse_field_selector(text: str | None, plural: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over an object; unsupported fields are a 400 as on a real server."""
    if not text or not text.strip():
        return lambda obj: True
    allowed = {"metadata.name", "metadata.namespace", *EXTRA_FIELDS.get(plural, ())}
    reqs = []
    for part in text.split(","):
        m = re.match(r"^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise ApiError(400, f"invalid selector: '{text}'; can't understand '{part}'")
        key, op, value = m.groups()
        if key not in allowed:
            raise ApiError(
                400,
                f'"{key}" is not a known field selector: only "metadata.name", "metadata.namespace"',
            )
        neg = op == "!="
        reqs.append(lambda o, k=key, v=value, n=neg: (_field_value(o, k) == v) != n)
    return lambda obj: all(r(obj) for r in reqs)
