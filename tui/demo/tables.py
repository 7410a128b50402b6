"""Server-side printing: `meta.k8s.io/v1 Table` from a kind's printer columns (what kubectl asks for)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from tui.cluster.kinds import Kind

_FILTER = re.compile(r"^\[\?\(@\.([A-Za-z0-9_.]+)\s*==\s*'([^']*)'\)\]")
_INDEX = re.compile(r"^\[(\d+)\]")
_FIELD = re.compile(r"^\.([A-Za-z0-9_-]+)")


def json_path(obj: Any, path: str) -> Any:
    """The small JSONPath subset CRD printer columns use: `.a.b`, `[0]`, `[?(@.type=='Ready')]`."""
    cur: list[Any] = [obj]
    rest = path.strip()
    while rest:
        if m := _FIELD.match(rest):
            cur = [c.get(m.group(1)) for c in cur if isinstance(c, dict)]
        elif m := _INDEX.match(rest):
            i = int(m.group(1))
            cur = [c[i] for c in cur if isinstance(c, list) and len(c) > i]
        elif m := _FILTER.match(rest):
            key, want = m.groups()
            cur = [
                item
                for c in cur
                if isinstance(c, list)
                for item in c
                if isinstance(item, dict) and str(json_path(item, "." + key)) == want
            ]
        else:
            return None
        cur = [c for c in cur if c is not None]
        rest = rest[m.end() :]
    if not cur:
        return None
    return cur[0] if len(cur) == 1 else cur


def human_duration(seconds: float) -> str:
    """kubectl's age format: 45s, 12m, 3h4m, 5d, 2y."""
    s = int(max(seconds, 0))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 365 * 2:
        return f"{d}d"
    return f"{d // 365}y"


def _cell(value: Any, type_: str) -> Any:
    if value is None:
        return None
    if type_ == "date" and isinstance(value, str):
        try:
            then = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return value
        return human_duration((datetime.now(timezone.utc) - then).total_seconds())
    if isinstance(value, list):
        if type_ == "string" and all(isinstance(v, dict) for v in value):
            return len(value)
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value)
    return value


def _row(kind: Kind, obj: dict[str, Any], include_object: str) -> dict[str, Any]:
    cells: list[Any] = [obj.get("metadata", {}).get("name")]
    for col in kind.columns:
        cells.append(_cell(json_path(obj, col.json_path), col.type))
    if include_object == "None":
        ref: Any = None
    elif include_object == "Object":
        ref = obj
    else:
        ref = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {}),
        }
    return {"cells": cells, "object": ref}


def table(
    kind: Kind,
    items: list[dict[str, Any]],
    resource_version: str,
    include_object: str = "Metadata",
    continue_token: str | None = None,
) -> dict[str, Any]:
    columns = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": "Name must be unique within a namespace.",
            "priority": 0,
        }
    ]
    for col in kind.columns:
        columns.append(
            {
                "name": col.name,
                "type": "string" if col.type == "date" else col.type,
                "format": "",
                "description": col.json_path,
                "priority": col.priority,
            }
        )
    meta: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": columns,
        "rows": [_row(kind, o, include_object) for o in items],
    }
