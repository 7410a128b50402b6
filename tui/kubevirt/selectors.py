"""Kubernetes label selectors, parsed and matched as the API server does.

Shared by the demo server (which answers `?labelSelector=` like a real one) and the list
filter (`/-l app=web,tier!=db`), so both read a selector the same way. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

LabelMatcher = Callable[[Mapping[str, str]], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


class SelectorError(ValueError):
    """A selector that does not parse; the message is the API server's own wording."""


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside `in (...)` parentheses."""
    parts: list[str] = []
    depth = 0
    cur: list[str] = []
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


def parse_label_selector(text: str | None) -> LabelMatcher:
    """A predicate over a labels mapping; raises SelectorError on a malformed selector.

    Supports `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` and `!k`.
    """
    if not text or not text.strip():
        return lambda labels: True
    reqs: list[LabelMatcher] = []
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


def _bad_selector(text: str) -> SelectorError:
    return SelectorError(f"unable to parse requirement: found '{text}', expected: valid selector")
