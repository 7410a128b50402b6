"""The demo cluster's object store: what etcd plus the generic API server logic do for us.

Everything here runs on the server's event loop thread; nothing is thread-safe by design
(callers from other threads go through `DemoCluster.call`). Objects are plain dicts, always
copied in and out so no caller can change stored state behind the store's back.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import jsonpatch

from tui.cluster.kinds import KINDS, NAMESPACES, Kind
from tui.demo import errors
from tui.demo.errors import ApiError
from tui.demo.selectors import parse_field_selector, parse_label_selector

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# What apimachinery's generateName appends: 5 chars from an alphabet without vowels.
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WatchEvent:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    kind: Kind
    obj: Obj


@dataclass
class Watcher:
    kind: Kind
    namespace: str | None
    label_match: Callable[[dict[str, str]], bool]
    field_match: Callable[[Obj], bool]
    queue: asyncio.Queue[WatchEvent | None] = field(default_factory=asyncio.Queue)

    def wants(self, ev: WatchEvent) -> bool:
        if ev.kind is not self.kind:
            return False
        meta = ev.obj.get("metadata", {})
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        return self.label_match(meta.get("labels") or {}) and self.field_match(ev.obj)


def name_causes(kind: Kind, name: str) -> list[dict[str, str]]:
    """Object-name validation as the generic registry does it (DNS-1123 subdomain, or label)."""
    label_only = kind is NAMESPACES
    pattern = DNS1123_LABEL if label_only else DNS1123_SUBDOMAIN
    limit = 63 if label_only else 253
    problems = []
    if len(name) > limit:
        problems.append(f"must be no more than {limit} characters")
    if not pattern.match(name):
        if label_only:
            problems.append(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
                "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            )
        else:
            problems.append(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character (e.g. "
                "'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            )
    return [
        {
            "reason": "FieldValueInvalid",
            "message": f'Invalid value: "{name}": {p}',
            "field": "metadata.name",
        }
        for p in problems
    ]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# Hooks the KubeVirt part of the server plugs in: admission and defaulting per kind.
Admit = Callable[[Kind, Obj, Obj | None], list[str]]  # returns warnings or raises ApiError


class Store:
    """Objects of every kind, one global resourceVersion, a bounded event history, watchers."""

    def __init__(self, history_limit: int = 5000) -> None:
        self.rv = 0
        self.objects: dict[str, dict[Key, Obj]] = {k.key: {} for k in KINDS}
        self.history: deque[WatchEvent] = deque()
        self.history_limit = history_limit
        # The newest resourceVersion whose event was dropped from the history: watching from
        # anything older can no longer be answered completely, hence 410 Gone.
        self.compacted_rv = 0
        self.watchers: list[Watcher] = []
        self.listeners: list[Callable[[WatchEvent], None]] = []
        self.admit: Admit | None = None

    # -- reading -------------------------------------------------------------------------

    def _bucket(self, kind: Kind) -> dict[Key, Obj]:
        return self.objects[kind.key]

    @staticmethod
    def _key(kind: Kind, namespace: str | None, name: str) -> Key:
        return ((namespace or "") if kind.namespaced else "", name)

    def peek(self, kind: Kind, namespace: str | None, name: str) -> Obj | None:
        """The stored object itself, not a copy: for read-only use on the loop thread."""
        return self._bucket(kind).get(self._key(kind, namespace, name))

    def get(self, kind: Kind, namespace: str | None, name: str) -> Obj:
        obj = self.peek(kind, namespace, name)
        if obj is None:
            raise errors.not_found(kind, name)
        return copy.deepcopy(obj)

    def try_get(self, kind: Kind, namespace: str | None, name: str) -> Obj | None:
        obj = self.peek(kind, namespace, name)
        return copy.deepcopy(obj) if obj is not None else None

    def iter(self, kind: Kind, namespace: str | None = None) -> list[Obj]:
        """Stored objects (not copies), sorted by namespace and name as etcd keys sort."""
        bucket = self._bucket(kind)
        keys = sorted(k for k in bucket if not namespace or k[0] == namespace)
        return [bucket[k] for k in keys]

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> tuple[list[Obj], str, str | None]:
        """Items, the list's resourceVersion, and a continue token when more remain.

        The items are the stored objects themselves, not copies: the server serializes them
        at once, and the store never changes a stored dict in place (writes replace it).
        """
        label_match = parse_label_selector(label_selector)
        field_match = parse_field_selector(field_selector, kind.plural)
        start: Key | None = None
        list_rv = self.rv
        if continue_token:
            try:
                token = json.loads(_b64decode(continue_token))
                start = (token["ns"], token["name"])
                list_rv = int(token["rv"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ApiError(
                    400,
                    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
                ) from exc
            if list_rv < self.compacted_rv:
                raise errors.gone(
                    "The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter, or use the continue "
                    "token in this response to retrieve the remainder of the results. Continuing "
                    "with the provided token results in an inconsistent list - objects that were "
                    "created, modified, or deleted between the time the first chunk was returned "
                    "and now may show up in the list."
                )
        bucket = self._bucket(kind)
        keys = sorted(
            k
            for k in bucket
            if (not namespace or k[0] == namespace) and (start is None or k > start)
        )
        items: list[Obj] = []
        next_token = None
        for key in keys:
            obj = bucket[key]
            if not label_match(obj["metadata"].get("labels") or {}) or not field_match(obj):
                continue
            if limit and len(items) >= limit:
                last = items[-1]["metadata"]
                token = {"rv": list_rv, "ns": last.get("namespace", ""), "name": last["name"]}
                next_token = _b64encode(json.dumps(token))
                break
            items.append(obj)
        return items, str(list_rv), next_token

    # -- writing -------------------------------------------------------------------------

    def _bump(self) -> int:
        self.rv += 1
        return self.rv

    def _emit(self, kind: Kind, type_: str, obj: Obj) -> None:
        ev = WatchEvent(self.rv, type_, kind, copy.deepcopy(obj))
        self.history.append(ev)
        while len(self.history) > self.history_limit:
            self.compacted_rv = self.history.popleft().rv
        for w in list(self.watchers):
            if w.wants(ev):
                w.queue.put_nowait(ev)
        for listener in list(self.listeners):
            listener(ev)

    def _check_namespace(self, kind: Kind, namespace: str | None) -> None:
        if kind.namespaced:
            if not namespace:
                raise ApiError(400, "the server could not find the requested resource")
            ns = self.peek(NAMESPACES, None, namespace)
            if ns is None:
                raise errors.not_found(NAMESPACES, namespace)
            if ns["metadata"].get("deletionTimestamp"):
                raise ApiError(
                    403,
                    f'{kind.plural} "{namespace}" is forbidden: unable to create new content in '
                    f"namespace {namespace} because it is being terminated",
                )

    def create(
        self, kind: Kind, obj: Obj, namespace: str | None = None, *, dry_run: bool = False
    ) -> tuple[Obj, list[str]]:
        """Create an object; returns it with the warnings admission gave."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if kind.namespaced:
            body_ns = meta.get("namespace")
            if namespace and body_ns and body_ns != namespace:
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            namespace = namespace or body_ns
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        obj["apiVersion"] = obj.get("apiVersion") or kind.api_version
        obj["kind"] = obj.get("kind") or kind.kind
        if obj["kind"] != kind.kind:
            raise ApiError(
                400,
                f"the API version in the data ({obj['apiVersion']}) does not match the expected API version ({kind.api_version})",
            )
        name = meta.get("name")
        if not name:
            prefix = meta.get("generateName")
            if not prefix:
                raise errors.invalid(
                    kind,
                    "",
                    [
                        {
                            "reason": "FieldValueRequired",
                            "message": "Required value: name or generateName is required",
                            "field": "metadata.name",
                        }
                    ],
                )
            name = prefix + "".join(random.choice(_GENERATE_ALPHABET) for _ in range(5))
            meta["name"] = name
        causes = name_causes(kind, name)
        if causes:
            raise errors.invalid(kind, name, causes)
        self._check_namespace(kind, namespace)
        if self.peek(kind, namespace, name) is not None:
            raise errors.already_exists(kind, name)
        if kind.has_status:
            obj.pop("status", None)  # the main resource ignores status where /status exists
        for field_name in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(field_name, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_iso()
        meta["generation"] = 1
        if kind is NAMESPACES:
            # What the API server's namespace lifecycle sets: Active (kubectl's STATUS) and
            # the name label every namespace carries.
            obj["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        warnings = self.admit(kind, obj, None) if self.admit else []
        if dry_run:
            return obj, warnings
        meta["resourceVersion"] = str(self._bump())
        self._bucket(kind)[self._key(kind, namespace, name)] = obj
        self._emit(kind, "ADDED", obj)
        return copy.deepcopy(obj), warnings

    def update(
        self,
        kind: Kind,
        obj: Obj,
        namespace: str | None = None,
        name: str | None = None,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        internal: bool = False,
    ) -> tuple[Obj, list[str]]:
        """PUT semantics: optimistic concurrency, the /status split, generation, finalizers.

        `internal=True` is the controllers' path: it may write spec and status at once and
        needs no resourceVersion, as a controller's read-modify-write on one thread can't race.
        """
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        name = name or meta.get("name", "")
        namespace = namespace or meta.get("namespace")
        if meta.get("name") and meta["name"] != name:
            raise ApiError(
                400,
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})",
            )
        current = self.peek(kind, namespace, name)
        if current is None:
            raise errors.not_found(kind, name)
        rv = meta.get("resourceVersion")
        if rv:
            if rv != current["metadata"]["resourceVersion"]:
                raise errors.conflict(kind, name, errors.STALE)
        elif not internal and kind.group:
            # Custom resources don't allow unconditional updates.
            raise errors.invalid(
                kind,
                name,
                [
                    {
                        "reason": "FieldValueInvalid",
                        "message": "Invalid value: 0x0: must be specified for an update",
                        "field": "metadata.resourceVersion",
                    }
                ],
            )
        new = copy.deepcopy(current)
        if internal:
            new = obj
        elif subresource == "status":
            new["status"] = obj.get("status", {})
        else:
            preserved_status = current.get("status")
            new = obj
            if kind.has_status:
                if preserved_status is None:
                    new.pop("status", None)
                else:
                    new["status"] = preserved_status
        # Immutable and server-owned metadata survives whatever the client sent.
        new_meta = new.setdefault("metadata", {})
        for field_name in (
            "uid",
            "creationTimestamp",
            "namespace",
            "name",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ):
            if field_name in current["metadata"]:
                new_meta[field_name] = current["metadata"][field_name]
            else:
                new_meta.pop(field_name, None)
        if kind.namespaced:
            new_meta["namespace"] = current["metadata"]["namespace"]
        new["apiVersion"] = current["apiVersion"]
        new["kind"] = current["kind"]
        spec_changed = _without(new, "metadata", "status") != _without(
            current, "metadata", "status"
        )
        new_meta["generation"] = current["metadata"].get("generation", 1) + (
            1 if spec_changed else 0
        )
        new_meta["resourceVersion"] = current["metadata"]["resourceVersion"]
        if _stripped(new) == _stripped(current):
            return copy.deepcopy(current), []  # a no-op write doesn't bump resourceVersion
        warnings: list[str] = []
        if self.admit and not internal and subresource != "status":
            warnings = self.admit(kind, new, current)
        if dry_run:
            return new, warnings
        new_meta["resourceVersion"] = str(self._bump())
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            self._remove(kind, new)
            return copy.deepcopy(new), warnings
        self._bucket(kind)[self._key(kind, namespace, name)] = new
        self._emit(kind, "MODIFIED", new)
        return copy.deepcopy(new), warnings

    def patch(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        patch: Any,
        content_type: str,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> tuple[Obj, list[str]]:
        current = self.get(kind, namespace, name)
        ctype = content_type.split(";")[0].strip()
        if ctype == "application/json-patch+json":
            try:
                patched = jsonpatch.apply_patch(current, patch)
            except jsonpatch.JsonPatchTestFailed as exc:
                # The words of the JSON-patch library the real server uses (evanphx/json-patch).
                raise ApiError(
                    422, f"testing value {_failed_test_path(current, patch)} failed: test failed"
                ) from exc
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise ApiError(
                    422, f"the server rejected our request due to an error in our request: {exc}"
                ) from exc
            except (TypeError, ValueError) as exc:
                raise ApiError(400, f"error decoding patch: {exc}") from exc
        elif ctype == "application/merge-patch+json" or (
            ctype == "application/strategic-merge-patch+json" and not kind.group
        ):
            # Built-in kinds accept strategic merge; for what kubectl label/annotate/patch
            # send to them (maps), it behaves as a merge patch.
            if not isinstance(patch, dict):
                raise ApiError(400, "error decoding patch: a merge patch must be a JSON object")
            patched = merge_patch(current, patch)
        elif ctype == "application/strategic-merge-patch+json":
            raise ApiError(
                415,
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            )
        else:
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted media types include: "
                f"application/json-patch+json, application/merge-patch+json (got {ctype})",
            )
        if not isinstance(patched, dict):
            raise ApiError(422, "patch produced a non-object")
        meta = patched.setdefault("metadata", {})
        if meta.get("resourceVersion") is None:
            meta["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.update(kind, patched, namespace, name, subresource=subresource, dry_run=dry_run)

    def delete(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        precondition_rv: str | None = None,
        precondition_uid: str | None = None,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Delete; returns the object and whether it is gone now (False: finalizers pending)."""
        current = self.peek(kind, namespace, name)
        if current is None:
            raise errors.not_found(kind, name)
        meta = current["metadata"]
        if precondition_uid and precondition_uid != meta["uid"]:
            raise errors.conflict(
                kind,
                name,
                f"Precondition failed: UID in precondition: {precondition_uid}, UID in object meta: {meta['uid']}",
            )
        if precondition_rv and precondition_rv != meta["resourceVersion"]:
            raise errors.conflict(
                kind,
                name,
                f"Precondition failed: ResourceVersion in precondition: {precondition_rv}, "
                f"ResourceVersion in object meta: {meta['resourceVersion']}",
            )
        if dry_run:
            return copy.deepcopy(current), not meta.get("finalizers")
        if kind is NAMESPACES:
            return self._delete_namespace(current), False
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                new = copy.deepcopy(current)
                new["metadata"]["deletionTimestamp"] = now_iso()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                new["metadata"]["resourceVersion"] = str(self._bump())
                self._bucket(kind)[self._key(kind, namespace, name)] = new
                self._emit(kind, "MODIFIED", new)
                current = new
            return copy.deepcopy(current), False
        self._remove(kind, current, orphan=propagation == "Orphan")
        return copy.deepcopy(current), True

    def _delete_namespace(self, ns: Obj) -> Obj:
        """Namespaces go Terminating, their content is deleted, then the namespace goes."""
        name = ns["metadata"]["name"]
        new = copy.deepcopy(ns)
        new["metadata"]["deletionTimestamp"] = now_iso()
        new.setdefault("status", {})["phase"] = "Terminating"
        new["metadata"]["resourceVersion"] = str(self._bump())
        self._bucket(NAMESPACES)[("", name)] = new
        self._emit(NAMESPACES, "MODIFIED", new)
        for kind in KINDS:
            if not kind.namespaced:
                continue
            for obj in self.iter(kind, name):
                if obj["metadata"].get("finalizers"):
                    self.delete(kind, name, obj["metadata"]["name"])
                else:
                    self._remove(kind, obj)
        self.finish_namespace_deletion(name)
        return copy.deepcopy(new)

    def finish_namespace_deletion(self, name: str) -> None:
        """Remove a Terminating namespace once nothing is left in it."""
        ns = self.peek(NAMESPACES, None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if any(self.iter(k, name) for k in KINDS if k.namespaced):
            return
        self._remove(NAMESPACES, ns)

    def _remove(self, kind: Kind, obj: Obj, *, orphan: bool = False) -> None:
        meta = obj["metadata"]
        key = self._key(kind, meta.get("namespace"), meta["name"])
        if key not in self._bucket(kind):
            return
        del self._bucket(kind)[key]
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(self._bump())
        self._emit(kind, "DELETED", gone)
        if not orphan:
            self._collect_garbage(meta["uid"], meta.get("namespace"))
        if meta.get("namespace") and kind is not NAMESPACES:
            self.finish_namespace_deletion(meta["namespace"])

    def _collect_garbage(self, owner_uid: str, namespace: str | None) -> None:
        """Background propagation: dependents whose owner is gone are deleted too."""
        for kind in KINDS:
            for obj in list(self.iter(kind, namespace if kind.namespaced else None)):
                refs = obj["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == owner_uid for r in refs):
                    meta = obj["metadata"]
                    if self.peek(kind, meta.get("namespace"), meta["name"]) is not None:
                        self.delete(kind, meta.get("namespace"), meta["name"])

    # -- controller conveniences ---------------------------------------------------------

    def mutate(
        self, kind: Kind, namespace: str | None, name: str, fn: Callable[[Obj], Any]
    ) -> Obj | None:
        """Read-modify-write for controllers: `fn` edits a copy in place; None if absent."""
        obj = self.try_get(kind, namespace, name)
        if obj is None:
            return None
        fn(obj)
        obj["metadata"].pop("resourceVersion", None)
        new, _ = self.update(kind, obj, namespace, name, internal=True)
        return new

    # -- watching ------------------------------------------------------------------------

    def watch(
        self,
        kind: Kind,
        namespace: str | None,
        resource_version: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[Watcher, list[WatchEvent]]:
        """Register a watcher; returns it with the backlog to send first.

        No resourceVersion (or "0") starts with synthetic ADDED events for what exists now,
        as the real server does; a version starts after it, or 410 if it is compacted away.
        """
        watcher = Watcher(
            kind,
            namespace if kind.namespaced else None,
            parse_label_selector(label_selector),
            parse_field_selector(field_selector, kind.plural),
        )
        backlog: list[WatchEvent] = []
        if not resource_version or resource_version == "0":
            for obj in self.iter(kind, watcher.namespace):
                ev = WatchEvent(
                    int(obj["metadata"]["resourceVersion"]), "ADDED", kind, copy.deepcopy(obj)
                )
                if watcher.wants(ev):
                    backlog.append(ev)
        else:
            try:
                since = int(resource_version)
            except ValueError as exc:
                raise ApiError(400, f'invalid resource version "{resource_version}"') from exc
            if since < self.compacted_rv:
                raise errors.gone(f"too old resource version: {since} ({self.compacted_rv + 1})")
            backlog = [ev for ev in self.history if ev.rv > since and watcher.wants(ev)]
        self.watchers.append(watcher)
        return watcher, backlog

    def unwatch(self, watcher: Watcher) -> None:
        if watcher in self.watchers:
            self.watchers.remove(watcher)

    def compact(self) -> None:
        """Forget all history, as etcd compaction does: older watches will get 410."""
        if self.history:
            self.compacted_rv = self.history[-1].rv
        self.history.clear()

    def subscribe(self, fn: Callable[[WatchEvent], None]) -> Callable[[], None]:
        self.listeners.append(fn)
        return lambda: self.listeners.remove(fn) if fn in self.listeners else None


def _failed_test_path(doc: Obj, ops: list[dict[str, Any]]) -> str:
    """Which `test` op of a failing JSON patch failed (replayed op by op)."""
    for op in ops:
        try:
            doc = jsonpatch.apply_patch(doc, [op])
        except jsonpatch.JsonPatchTestFailed:
            return str(op.get("path", ""))
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            break
    return ""


def _without(obj: Obj, *keys: str) -> Obj:
    return {k: v for k, v in obj.items() if k not in keys}


def _stripped(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["metadata"].pop("resourceVersion", None)
    out["metadata"].pop("generation", None)
    return out


def _b64encode(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _b64decode(text: str) -> str:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
