"""Label and field selectors, parsed and matched as the Kubernetes API server does."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tui.demo.errors import ApiError

Requirement = Callable[[dict[str, str]], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside `in (...)` parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> Requirement:
    """A predicate over a labels dict; raises a 400 ApiError on a malformed selector."""
    if not text or not text.strip():
        return lambda labels: True
    reqs: list[Requirement] = []
    for part in _split_top_level(text):
        m = _EQ_RE.match(part)
        if m:
            key, op, value = m.groups()
            if op == "!=":
                reqs.append(lambda lb, k=key, v=value: lb.get(k) != v)
            else:
                reqs.append(lambda lb, k=key, v=value: lb.get(k) == v)
            continue
        m = _SET_RE.match(part)
        if m:
            neg, key, op, values = m.groups()
            if op:
                if neg:
                    raise _bad_selector(text)
                vals = {v.strip() for v in values.split(",") if v.strip()}
                if op == "in":
                    reqs.append(lambda lb, k=key, vs=vals: lb.get(k) in vs)
                else:
                    reqs.append(lambda lb, k=key, vs=vals: lb.get(k) not in vs)
            elif neg:
                reqs.append(lambda lb, k=key: k not in lb)
            else:
                reqs.append(lambda lb, k=key: k in lb)
            continue
        raise _bad_selector(text)
    return lambda labels: all(r(labels) for r in reqs)


def _bad_selector(text: str) -> ApiError:
    return ApiError(400, f"unable to parse requirement: found '{text}', expected: valid selector")


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
