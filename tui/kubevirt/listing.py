"""Rows of the generic resource lists: columns per view, and the cells of one object.

Pure functions over plain dict manifests. Most views take the kind's printer columns (the
ones `kubectl get` shows, from `tui.cluster.kinds`); a few views say more than the CRD does:
templates (OS, workload and flavor from their labels), instancetypes (CPU and memory from
the spec), DataVolumes (a progress bar), nodes (readiness and version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tui.cluster.kinds import Kind, PrinterColumn
from tui.kubevirt.vm import humanize_age, parse_timestamp

BAR_WIDTH = 10

# Styles by meaning for the STATUS/PHASE-like cells (plain Rich styles: they go into cells).
GOOD = {"Running", "Succeeded", "Ready", "Active", "True", "Bound", "Normal", "true"}
BAD = {"Failed", "Error", "NotReady", "Warning", "False", "Unknown", "ImportFailed"}


@dataclass(frozen=True)
class Row:
    """One table row: a stable key, the cells, and a style per cell."""

    key: str
    cells: list[str]
    styles: list[str | None]


# ---- a JSONPath subset, enough for printer columns ---------------------------------

_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\[\?\(@\.(\w+)==['\"]([^'\"]*)['\"]\)\]")


def jsonpath(obj: Any, path: str) -> Any:
    """Evaluate `.a.b[0].c` and `[?(@.type=='Ready')]` steps; None when anything is missing."""
    value = obj
    for match in _STEP.finditer(path):
        key, index, field, wanted = match.groups()
        if key is not None:
            value = value.get(key) if isinstance(value, dict) else None
        elif index is not None:
            i = int(index)
            value = value[i] if isinstance(value, list) and i < len(value) else None
        else:
            items = value if isinstance(value, list) else []
            value = next(
                (x for x in items if isinstance(x, dict) and str(x.get(field)) == wanted), None
            )
        if value is None:
            return None
    return value


def _text(value: Any, kind: str = "string", now: datetime | None = None) -> str:
    if value is None:
        return ""
    if kind == "date":
        return humanize_age(parse_timestamp(value), now)
    if kind == "boolean" and isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return str(len(value))
    return str(value)


# ---- columns per view ----------------------------------------------------------------


def _printer_columns(kind: Kind) -> list[PrinterColumn]:
    # Age goes last, as kubectl does; the lower-priority (wide) columns stay out.
    return [
        c for c in kind.columns if c.priority == 0 and c.json_path != ".metadata.creationTimestamp"
    ]


def multi_scope(kinds: list[Kind]) -> bool:
    """A view mixing namespaced and cluster kinds always shows where each object lives."""
    return len({k.namespaced for k in kinds}) > 1


def columns(view: str, kinds: list[Kind], all_namespaces: bool) -> list[str]:
    """The column names of a view."""
    names = ["NAME"]
    namespaced = any(k.namespaced for k in kinds)
    if namespaced and (all_namespaces or multi_scope(kinds)):
        names.append("NAMESPACE")
    if view == "tmpl":
        names += ["OS", "WORKLOAD", "FLAVOR", "DISPLAY NAME"]
    elif view == "it":
        names += ["CPU", "MEMORY"]
    elif view == "pref":
        names += ["OS TYPE"]
    elif view == "dv":
        names += ["PHASE", "PROGRESS", "RESTARTS"]
    elif view == "node":
        names += ["STATUS", "VERSION", "CPU", "MEMORY"]
    elif view == "ev":
        names += ["TYPE", "REASON", "OBJECT", "MESSAGE", "LAST SEEN"]
        return names
    else:
        names += [c.name.upper() for c in _printer_columns(kinds[0])]
    names.append("AGE")
    return names


def hide_columns(view: str, column_names: list[str]) -> tuple[str, ...]:
    """Columns a narrow terminal drops first, most expendable first.

    Events: their generated names (`vm.17c3a…`) say nothing kubectl's own event listing
    shows, and at 80 columns they left no room for the reason and message.
    """
    if view == "ev":
        return tuple(c for c in ("NAME", "NAMESPACE") if c in column_names)
    return ()


def column_caps(view: str, column_names: list[str]) -> dict[str, int]:
    """Narrower caps than the table's default for columns whose rare long values would
    push the useful ones off screen (events: a 26-letter reason, a long object path)."""
    if view == "ev":
        return {c: w for c, w in (("REASON", 22), ("OBJECT", 32)) if c in column_names}
    return {}


def sort_columns(view: str, column_names: list[str]) -> tuple[str, ...]:
    """Default ordering: by namespace and name (events: by name too; they sort by time badly)."""
    if "NAMESPACE" in column_names:
        return ("NAMESPACE", "NAME")
    return ("NAME",)


# ---- special cells ---------------------------------------------------------------------


def _label_suffixes(labels: dict[str, str], prefix: str) -> str:
    found = sorted(
        k[len(prefix) :] for k, v in labels.items() if k.startswith(prefix) and v == "true"
    )
    return ",".join(found)


def progress_bar(progress: str | None, width: int = BAR_WIDTH) -> str:
    """'45.23%' -> '████▌░░░░░ 45.23%'; 'N/A' or garbage is shown as is, without a bar."""
    if not progress:
        return ""
    try:
        fraction = float(progress.strip().rstrip("%")) / 100.0
    except ValueError:
        return progress
    fraction = min(max(fraction, 0.0), 1.0)
    filled = int(fraction * width)
    bar = "█" * filled + "░" * (width - filled)
    return f"{bar} {progress}"


def _condition(obj: dict[str, Any], type_: str) -> str:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == type_:
            return str(cond.get("status") or "")
    return ""


def _view_cells(view: str, kind: Kind, obj: dict[str, Any], now: datetime | None) -> list[str]:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if view == "tmpl":
        labels = meta.get("labels") or {}
        annotations = meta.get("annotations") or {}
        return [
            _label_suffixes(labels, "os.template.kubevirt.io/"),
            _label_suffixes(labels, "workload.template.kubevirt.io/"),
            _label_suffixes(labels, "flavor.template.kubevirt.io/"),
            str(annotations.get("openshift.io/display-name") or ""),
        ]
    if view == "it":
        return [
            _text(jsonpath(spec, ".cpu.guest")),
            _text(jsonpath(spec, ".memory.guest")),
        ]
    if view == "pref":
        labels = meta.get("labels") or {}
        return [str(labels.get("instancetype.kubevirt.io/os-type") or "")]
    if view == "dv":
        return [
            _text(status.get("phase")),
            progress_bar(status.get("progress")),
            _text(status.get("restartCount")),
        ]
    if view == "node":
        ready = _condition(obj, "Ready")
        state = {"True": "Ready", "False": "NotReady"}.get(ready, "Unknown")
        if spec.get("unschedulable"):
            state += ",SchedulingDisabled"
        allocatable = status.get("allocatable") or {}
        return [
            state,
            _text(jsonpath(status, ".nodeInfo.kubeletVersion")),
            _text(allocatable.get("cpu")),
            _text(allocatable.get("memory")),
        ]
    if view == "ev":
        involved = obj.get("involvedObject") or {}
        seen = obj.get("lastTimestamp") or obj.get("eventTime") or meta.get("creationTimestamp")
        what = f"{str(involved.get('kind') or '').lower()}/{involved.get('name') or ''}"
        return [
            _text(obj.get("type")),
            _text(obj.get("reason")),
            what,
            " ".join(str(obj.get("message") or "").split()),
            _text(seen, "date", now),
        ]
    return [_text(jsonpath(obj, c.json_path), c.type, now) for c in _printer_columns(kind)]


def _style(column: str, value: str) -> str | None:
    if column not in ("PHASE", "STATUS", "TYPE", "READY", "READYTOUSE"):
        return None
    head = value.split(",")[0]
    if head in GOOD:
        return "green"
    if head in BAD:
        return "bold red"
    return "yellow" if head else None


def row(
    view: str,
    kind: Kind,
    obj: dict[str, Any],
    column_names: list[str],
    now: datetime | None = None,
) -> Row:
    """The row for `obj` of `kind` in `view`, cells in the order of `column_names`."""
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    name = str(meta.get("name") or "")
    cells = [name]
    if "NAMESPACE" in column_names:
        cells.append(namespace if kind.namespaced else "<cluster>")
    cells += _view_cells(view, kind, obj, now)
    if column_names[-1] == "AGE":
        cells.append(_text(meta.get("creationTimestamp"), "date", now))
    styles = [_style(col, cell) for col, cell in zip(column_names, cells, strict=True)]
    # uid when there is one: a deleted-and-recreated object is a new row.
    key = str(meta.get("uid") or f"{kind.key}/{namespace}/{name}")
    return Row(key, cells, styles)
