"""The demo cluster's HTTP face: a Kubernetes API server for the kinds kvtui uses (aiohttp).

It answers what the real `kubernetes` client and `kubectl` ask: discovery, OpenAPI v3 (so
`kubectl create -f` works), list/get/create/update/patch/delete with their real status
codes and Status bodies, watch streams, server-side Tables, dry runs, strict field
validation, RBAC for a read-only user, and KubeVirt's subresources (served by `virtapi`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tui.cluster import kinds as K
from tui.cluster.kinds import KINDS, Kind
from tui.demo import errors, tables
from tui.demo.errors import ApiError
from tui.demo.store import Store, WatchEvent

log = logging.getLogger(__name__)

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "kvtui-demo",
    "gitTreeState": "clean",
    "buildDate": "2026-11-01T00:00:00Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}
KUBEVIRT_VERSION = {
    "gitVersion": "v1.9.0",
    "gitCommit": "kvtui-demo",
    "gitTreeState": "clean",
    "buildDate": "2026-11-01T00:00:00Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}
SUBRESOURCE_VERSIONS = ("v1", "v1alpha3")
READ_VERBS = frozenset({"get", "list", "watch"})
# What KubeVirt's `kubevirt.io:view` role grants on subresources.
VIEW_SUBRESOURCES = frozenset({"guestosinfo", "userlist", "filesystemlist", "expand-spec"})


@dataclass(frozen=True)
class User:
    name: str
    read_only: bool = False
    hidden_namespaces: frozenset[str] = frozenset()


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    user: str
    verb: str


@dataclass
class Target:
    """What a resource path names."""

    kind: Kind
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


Handler = Callable[[web.Request, "Caller"], Awaitable[web.StreamResponse]]


@dataclass
class Caller:
    user: User
    warnings: list[str] = field(default_factory=list)


def _json(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    headers = {}
    if warnings:
        # RFC 7234 warn-text: a quoted string, inner quotes escaped, as the real server sends it.
        headers["Warning"] = ", ".join(
            '299 - "{}"'.format(w.replace("\\", "\\\\").replace('"', '\\"')) for w in warnings
        )
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers,
    )


def _error(exc: ApiError) -> web.Response:
    return _json(exc.status(), exc.code)


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


class ApiServer:
    """Routes requests to the store, the KubeVirt subresources and the console hub."""

    def __init__(
        self,
        store: Store,
        users: dict[str, User],
        *,
        virtapi: Any = None,
        console: Any = None,
        admit: Callable[[Kind, dict, dict | None], list[str]] | None = None,
        unknown_fields: Callable[[Kind, dict], list[str]] | None = None,
        process_template: Callable[[dict], dict] | None = None,
        bookmark_interval: float = 60.0,
    ) -> None:
        self.store = store
        self.users = users
        self.virtapi = virtapi
        self.console = console
        self.process_template = process_template
        self.unknown_fields = unknown_fields
        self.bookmark_interval = bookmark_interval
        self.requests: list[RequestRecord] = []
        self._watch_stops: set[asyncio.Event] = set()
        self.closing = False  # set on shutdown: no new watch may start
        store.admit = admit
        self.app = web.Application(client_max_size=16 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)

    # -- plumbing ------------------------------------------------------------------------

    def stop_watches(self) -> None:
        """End every open watch stream (the server is going away)."""
        for ev in list(self._watch_stops):
            ev.set()

    def _authenticate(self, request: web.Request) -> User | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        return self.users.get(header[len("Bearer ") :].strip())

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        user = self._authenticate(request)
        path = "/" + request.match_info["tail"].strip("/")
        if user is None:
            self.requests.append(RequestRecord(request.method, path, request.query_string, "", ""))
            return _json(ApiError(401, "Unauthorized").status(), 401)
        caller = Caller(user)
        try:
            return await self._route(request, caller, path)
        except ApiError as exc:
            return _error(exc)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # the server must answer, as a real one would, with a 500
            log.exception("internal error on %s %s", request.method, path)
            return _error(ApiError(500, f"Internal error occurred: {exc}"))

    def _record(self, request: web.Request, caller: Caller, path: str, verb: str) -> None:
        self.requests.append(
            RequestRecord(request.method, path, request.query_string, caller.user.name, verb)
        )

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            try:
                import yaml

                return yaml.safe_load(raw)
            except Exception as exc:
                raise ApiError(
                    400, f"the body of the request was in an unknown format: {exc}"
                ) from exc

    # -- routing -------------------------------------------------------------------------

    async def _route(self, request: web.Request, caller: Caller, path: str) -> web.StreamResponse:
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        if not parts or parts[0] in ("healthz", "readyz", "livez"):
            self._record(request, caller, path, "get")
            return web.Response(text="ok")
        if parts == ["version"]:
            self._record(request, caller, path, "get")
            return _json(KUBERNETES_VERSION)
        if parts[0] == "openapi":
            self._record(request, caller, path, "get")
            return self._openapi(parts[1:], request)
        if parts[0] == "api":
            if len(parts) == 1:
                self._record(request, caller, path, "get")
                return _json(self._api_versions(request))
            if parts[1] != "v1":
                raise ApiError(404, "the server could not find the requested resource")
            if len(parts) == 2:
                self._record(request, caller, path, "get")
                return _json(self._resource_list("", "v1"))
            return await self._resource(request, caller, path, "", "v1", parts[2:])
        if parts[0] == "apis":
            if len(parts) == 1:
                self._record(request, caller, path, "get")
                return _json(self._group_list())
            group = parts[1]
            if len(parts) == 2:
                self._record(request, caller, path, "get")
                found = self._group(group)
                if found is None:
                    raise ApiError(404, "the server could not find the requested resource")
                return _json(found)
            version = parts[2]
            if group == K.SUBRESOURCES and version in SUBRESOURCE_VERSIONS:
                return await self._kubevirt_subresource(request, caller, path, parts[3:])
            if group == K.AUTHZ and version == "v1":
                return await self._access_review(request, caller, path, parts[3:])
            if len(parts) == 3:
                self._record(request, caller, path, "get")
                if (
                    not any(k.group == group and k.version == version for k in KINDS)
                    and group != K.TEMPLATE
                ):
                    raise ApiError(404, "the server could not find the requested resource")
                return _json(self._resource_list(group, version))
            return await self._resource(request, caller, path, group, version, parts[3:])
        raise ApiError(404, "the server could not find the requested resource")

    def _parse_target(self, group: str, version: str, rest: list[str]) -> Target:
        def find(plural: str) -> Kind:
            for k in KINDS:
                if k.group == group and k.version == version and k.plural == plural:
                    return k
            raise ApiError(404, "the server could not find the requested resource")

        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            ns = rest[1]
            kind = find(rest[2])
            if not kind.namespaced:
                raise ApiError(404, "the server could not find the requested resource")
            tail = rest[3:]
            return Target(kind, ns, tail[0] if tail else None, tail[1] if len(tail) > 1 else None)
        kind = find(rest[0])
        tail = rest[1:]
        if len(tail) > 2:
            raise ApiError(404, "the server could not find the requested resource")
        return Target(kind, None, tail[0] if tail else None, tail[1] if len(tail) > 1 else None)

    def _authorize(
        self, caller: Caller, verb: str, target: Target, subresource: str | None = None
    ) -> None:
        user = caller.user
        if not user.read_only and not user.hidden_namespaces:
            return
        ns = target.namespace if target.kind.namespaced else None
        if target.kind is K.NAMESPACES and target.name:
            ns = target.name
        denied = False
        if subresource and subresource not in VIEW_SUBRESOURCES and user.read_only:
            denied = True
        elif user.read_only and verb not in READ_VERBS:
            denied = True
        elif ns and ns in user.hidden_namespaces:
            denied = True
        elif (
            target.kind.namespaced
            and not target.namespace
            and user.hidden_namespaces
            and verb in ("list", "watch")
        ):
            # Namespace-scoped RoleBindings give no cluster-wide list: a real server refuses.
            denied = True
        if denied:
            raise errors.forbidden(user.name, verb, target.kind, ns, target.name, subresource)

    def would_allow(
        self,
        user: User,
        verb: str,
        kind: Kind,
        namespace: str | None,
        name: str | None = None,
        subresource: str | None = None,
    ) -> bool:
        try:
            self._authorize(Caller(user), verb, Target(kind, namespace, name), subresource)
        except ApiError:
            return False
        return True

    # -- discovery -----------------------------------------------------------------------

    def _api_versions(self, request: web.Request) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}
            ],
        }

    def _group_versions(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k in KINDS:
            if k.group and k.version not in out.setdefault(k.group, []):
                out[k.group].append(k.version)
        out[K.SUBRESOURCES] = list(SUBRESOURCE_VERSIONS)
        out[K.AUTHZ] = ["v1"]
        return out

    def _group(self, name: str) -> dict[str, Any] | None:
        versions = self._group_versions().get(name)
        if not versions:
            return None
        gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": name,
            "versions": gvs,
            "preferredVersion": gvs[0],
        }

    def _group_list(self) -> dict[str, Any]:
        groups = [self._group(g) for g in self._group_versions()]
        for g in groups:
            if g:
                g.pop("kind")
                g.pop("apiVersion")
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        resources = []
        for k in KINDS:
            if k.group != group or k.version != version:
                continue
            entry: dict[str, Any] = {
                "name": k.plural,
                "singularName": k.singular,
                "namespaced": k.namespaced,
                "kind": k.kind,
                "verbs": list(k.verbs),
            }
            if k.short_names:
                entry["shortNames"] = list(k.short_names)
            if k.categories:
                entry["categories"] = list(k.categories)
            entry["storageVersionHash"] = hashlib.sha256(k.key.encode()).hexdigest()[:12]
            resources.append(entry)
            if k.has_status:
                resources.append(
                    {
                        "name": f"{k.plural}/status",
                        "singularName": "",
                        "namespaced": k.namespaced,
                        "kind": k.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        if group == K.TEMPLATE:
            resources.append(
                {
                    "name": "processedtemplates",
                    "singularName": "",
                    "namespaced": True,
                    "kind": "Template",
                    "verbs": ["create"],
                }
            )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}".lstrip("/"),
            "resources": resources,
        }

    def _subresource_list(self, version: str) -> dict[str, Any]:
        resources = []
        for plural, subs in (
            ("virtualmachines", K.VM_SUBRESOURCES),
            ("virtualmachineinstances", K.VMI_SUBRESOURCES),
        ):
            for sub, method in subs.items():
                resources.append(
                    {
                        "name": f"{plural}/{sub}",
                        "singularName": "",
                        "namespaced": True,
                        "kind": "",
                        "verbs": ["get"] if method == "GET" else ["update"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{K.SUBRESOURCES}/{version}",
            "resources": resources,
        }

    def _openapi(self, rest: list[str], request: web.Request) -> web.Response:
        """OpenAPI v3, just enough for kubectl's create/apply to know each GVK takes fieldValidation."""
        gvs: dict[str, list[Kind]] = {}
        for k in KINDS:
            key = f"apis/{k.group}/{k.version}" if k.group else "api/v1"
            gvs.setdefault(key, []).append(k)
        if rest == ["v3"]:
            paths = {
                gv: {
                    "serverRelativeURL": f"/openapi/v3/{gv}?hash={hashlib.sha256(gv.encode()).hexdigest()[:16].upper()}"
                }
                for gv in gvs
            }
            return _json({"paths": paths})
        if rest[:1] == ["v3"]:
            gv = "/".join(rest[1:])
            if gv not in gvs:
                raise ApiError(404, "the server could not find the requested resource")
            paths: dict[str, Any] = {}
            for k in gvs[gv]:
                ns = "/namespaces/{namespace}" if k.namespaced else ""
                base = f"/{gv}{ns}/{k.plural}"
                gvk = {"group": k.group, "version": k.version, "kind": k.kind}
                op = {
                    "x-kubernetes-group-version-kind": gvk,
                    "x-kubernetes-action": "patch",
                    "parameters": [
                        {
                            "name": "fieldValidation",
                            "in": "query",
                            "schema": {"type": "string", "uniqueItems": True},
                        },
                        {
                            "name": "dryRun",
                            "in": "query",
                            "schema": {"type": "string", "uniqueItems": True},
                        },
                    ],
                    "responses": {"200": {"description": "OK"}},
                }
                create = dict(op, **{"x-kubernetes-action": "post"})
                paths[f"{base}/{{name}}"] = {
                    "patch": op,
                    "put": dict(op, **{"x-kubernetes-action": "put"}),
                }
                paths[base] = {"post": create}
            return _json(
                {
                    "openapi": "3.0.0",
                    "info": {"title": "Kubernetes", "version": "v1.32.4"},
                    "paths": paths,
                    "components": {"schemas": {}},
                }
            )
        raise ApiError(404, "the server could not find the requested resource")

    # -- resources -----------------------------------------------------------------------

    async def _resource(
        self,
        request: web.Request,
        caller: Caller,
        path: str,
        group: str,
        version: str,
        rest: list[str],
    ) -> web.StreamResponse:
        if (
            group == K.TEMPLATE
            and len(rest) == 3
            and rest[0] == "namespaces"
            and rest[2] == "processedtemplates"
        ):
            return await self._processed_template(request, caller, path, rest[1])
        target = self._parse_target(group, version, rest)
        q = request.query
        method = request.method
        if method == "GET":
            if target.name is None:
                verb = "watch" if _truthy(q.get("watch")) else "list"
            else:
                verb = "get"
        elif method == "POST":
            verb = "create"
        elif method == "PUT":
            verb = "update"
        elif method == "PATCH":
            verb = "patch"
        elif method == "DELETE":
            verb = "delete" if target.name else "deletecollection"
        else:
            raise ApiError(405, "the server does not allow this method on the requested resource")
        self._record(request, caller, path, verb)
        if target.subresource and not (target.subresource == "status" and target.kind.has_status):
            raise ApiError(404, "the server could not find the requested resource")
        self._authorize(caller, verb, target)
        dry_run = self._dry_run(q.getall("dryRun", []))
        as_table = "as=Table" in request.headers.get("Accept", "")

        if verb == "watch":
            return await self._watch(request, target, as_table)
        if verb == "list":
            items, rv, cont = self.store.list(
                target.kind,
                target.namespace,
                label_selector=q.get("labelSelector"),
                field_selector=q.get("fieldSelector"),
                limit=int(q["limit"]) if q.get("limit", "").isdigit() else None,
                continue_token=q.get("continue") or None,
            )
            if as_table:
                return _json(
                    tables.table(target.kind, items, rv, q.get("includeObject", "Metadata"), cont)
                )
            meta: dict[str, Any] = {"resourceVersion": rv}
            if cont:
                meta["continue"] = cont
            return _json(
                {
                    "kind": f"{target.kind.kind}List",
                    "apiVersion": target.kind.api_version,
                    "metadata": meta,
                    "items": items,
                }
            )
        if verb == "get":
            obj = self.store.get(target.kind, target.namespace, target.name or "")
            if as_table:
                return _json(
                    tables.table(
                        target.kind,
                        [obj],
                        obj["metadata"]["resourceVersion"],
                        q.get("includeObject", "Metadata"),
                    )
                )
            return _json(obj)
        if verb == "create":
            body = await self._body(request)
            self._check_body(target.kind, body)
            self._field_validation(caller, target.kind, body, q.get("fieldValidation"))
            obj, warnings = self.store.create(target.kind, body, target.namespace, dry_run=dry_run)
            return _json(obj, 201, caller.warnings + warnings)
        if verb == "update":
            body = await self._body(request)
            self._check_body(target.kind, body)
            self._field_validation(caller, target.kind, body, q.get("fieldValidation"))
            obj, warnings = self.store.update(
                target.kind,
                body,
                target.namespace,
                target.name,
                subresource=target.subresource,
                dry_run=dry_run,
            )
            return _json(obj, 200, caller.warnings + warnings)
        if verb == "patch":
            body = await self._body(request)
            ctype = request.headers.get("Content-Type", "")
            obj, warnings = self.store.patch(
                target.kind,
                target.namespace,
                target.name or "",
                body,
                ctype,
                subresource=target.subresource,
                dry_run=dry_run,
            )
            return _json(obj, 200, warnings)
        if verb == "delete":
            options = await self._body(request) or {}
            propagation = q.get("propagationPolicy") or options.get("propagationPolicy")
            pre = options.get("preconditions") or {}
            if self._dry_run(options.get("dryRun") or []):
                dry_run = True
            obj, gone = self.store.delete(
                target.kind,
                target.namespace,
                target.name or "",
                propagation=propagation,
                precondition_rv=pre.get("resourceVersion"),
                precondition_uid=pre.get("uid"),
                dry_run=dry_run,
            )
            return _json(obj, 200 if gone else 202)
        if verb == "deletecollection":
            items, rv, _ = self.store.list(
                target.kind,
                target.namespace,
                label_selector=q.get("labelSelector"),
                field_selector=q.get("fieldSelector"),
            )
            if not dry_run:
                for item in items:
                    m = item["metadata"]
                    if self.store.peek(target.kind, m.get("namespace"), m["name"]) is not None:
                        self.store.delete(target.kind, m.get("namespace"), m["name"])
            return _json(
                {
                    "kind": f"{target.kind.kind}List",
                    "apiVersion": target.kind.api_version,
                    "metadata": {"resourceVersion": rv},
                    "items": items,
                }
            )
        raise ApiError(405, "the server does not allow this method on the requested resource")

    @staticmethod
    def _dry_run(values: list[str]) -> bool:
        for v in values:
            if v != "All":
                raise ApiError(400, f'Invalid dry run value: "{v}". Valid values are: All')
        return bool(values)

    @staticmethod
    def _check_body(kind: Kind, body: Any) -> None:
        if not isinstance(body, dict):
            raise ApiError(
                400, "the body of the request was in an unknown format - expected a JSON object"
            )
        api_version = body.get("apiVersion")
        if api_version and api_version != kind.api_version:
            raise ApiError(
                400,
                f"the API version in the data ({api_version}) does not match the expected API version ({kind.api_version})",
            )
        if body.get("kind") and body["kind"] != kind.kind:
            raise ApiError(
                400,
                f"the kind in the data ({body['kind']}) does not match the expected kind ({kind.kind})",
            )
        meta = body.get("metadata")
        if isinstance(meta, dict):
            # Labels and annotations decode into map[string]string: YAML's `edited: yes` (a
            # bool) or `replicas: 3` is refused before any validation, as the real server does.
            for field in ("labels", "annotations"):
                values = meta.get(field)
                if values is None:
                    continue
                go_type = "map[string]string"
                wrong = values if not isinstance(values, dict) else None
                if wrong is None:
                    go_type = "string"
                    wrong = next((v for v in values.values() if not isinstance(v, str)), None)
                    if wrong is None:
                        continue
                raise ApiError(
                    400,
                    f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: '
                    f"json: cannot unmarshal {_json_type(wrong)} into Go struct field "
                    f"ObjectMeta.metadata.{field} of type {go_type}",
                )

    def _field_validation(self, caller: Caller, kind: Kind, body: dict, mode: str | None) -> None:
        """Strict / Warn / Ignore, as the real server decodes objects (default Warn)."""
        mode = mode or "Warn"
        if mode not in ("Strict", "Warn", "Ignore"):
            raise ApiError(
                400, f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{mode}"'
            )
        if mode == "Ignore" or self.unknown_fields is None:
            return
        unknown = self.unknown_fields(kind, body)
        if not unknown:
            return
        texts = [f'unknown field "{f}"' for f in unknown]
        if mode == "Strict":
            # The real server's words for it (a 400, not a 422: decoding fails before validation).
            raise ApiError(
                400,
                f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: '
                "strict decoding error: " + ", ".join(texts),
            )
        caller.warnings.extend(texts)

    # -- watch ---------------------------------------------------------------------------

    async def _watch(
        self, request: web.Request, target: Target, as_table: bool
    ) -> web.StreamResponse:
        q = request.query
        kind = target.kind
        timeout = q.get("timeoutSeconds")
        deadline = asyncio.get_running_loop().time() + (
            int(timeout) if timeout and timeout.isdigit() else 1800
        )
        bookmarks = _truthy(q.get("allowWatchBookmarks"))
        field_selector = q.get("fieldSelector")
        if target.name:  # legacy single-object watch
            field_selector = f"metadata.name={target.name}"
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        try:
            watcher, backlog = self.store.watch(
                kind,
                target.namespace,
                q.get("resourceVersion"),
                label_selector=q.get("labelSelector"),
                field_selector=field_selector,
            )
        except ApiError as exc:
            if exc.code != 410:
                raise
            # The real server answers 200 and reports "too old" as an ERROR event in the stream.
            await resp.prepare(request)
            await resp.write(
                (json.dumps({"type": "ERROR", "object": exc.status()}) + "\n").encode()
            )
            await resp.write_eof()
            return resp
        stop = asyncio.Event()
        if self.closing:
            stop.set()
        self._watch_stops.add(stop)
        include = q.get("includeObject", "Metadata")

        def frame(ev_type: str, obj: dict) -> bytes:
            if as_table and ev_type != "BOOKMARK":
                obj = tables.table(kind, [obj], obj["metadata"]["resourceVersion"], include)
            return (
                json.dumps({"type": ev_type, "object": obj}, separators=(",", ":")) + "\n"
            ).encode()

        try:
            await resp.prepare(request)
            for ev in backlog:
                await resp.write(frame(ev.type, ev.obj))
            loop = asyncio.get_running_loop()
            stop_task = asyncio.ensure_future(stop.wait())
            try:
                while not stop.is_set():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    get_task = asyncio.ensure_future(watcher.queue.get())
                    done, _ = await asyncio.wait(
                        {get_task, stop_task},
                        timeout=min(remaining, self.bookmark_interval),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    if get_task not in done:
                        get_task.cancel()
                        if bookmarks and not stop.is_set() and loop.time() < deadline:
                            await resp.write(frame("BOOKMARK", self._bookmark(kind)))
                        continue
                    ev: WatchEvent | None = get_task.result()
                    if ev is None:
                        break
                    await resp.write(frame(ev.type, ev.obj))
            finally:
                stop_task.cancel()
            await resp.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.unwatch(watcher)
            self._watch_stops.discard(stop)
        return resp

    def _bookmark(self, kind: Kind) -> dict[str, Any]:
        return {
            "kind": kind.kind,
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": str(self.store.rv)},
        }

    # -- KubeVirt and friends ------------------------------------------------------------

    async def _kubevirt_subresource(
        self, request: web.Request, caller: Caller, path: str, rest: list[str]
    ) -> web.StreamResponse:
        version = path.split("/")[3]
        if not rest:
            self._record(request, caller, path, "get")
            return _json(self._subresource_list(version))
        if rest in (["version"], ["healthz"], ["guestfs"]):
            self._record(request, caller, path, "get")
            return _json(KUBEVIRT_VERSION if rest == ["version"] else {})
        if (
            len(rest) != 5
            or rest[0] != "namespaces"
            or rest[2] not in ("virtualmachines", "virtualmachineinstances")
        ):
            raise ApiError(404, "the server could not find the requested resource")
        _, ns, resource, name, sub = rest
        kind = K.VMS if resource == "virtualmachines" else K.VMIS
        subs = K.VM_SUBRESOURCES if kind is K.VMS else K.VMI_SUBRESOURCES
        if sub not in subs:
            raise ApiError(404, "the server could not find the requested resource")
        verb = "get" if subs[sub] == "GET" else "update"
        self._record(request, caller, path, verb)
        if request.method != subs[sub]:
            raise ApiError(405, "the server does not allow this method on the requested resource")
        self._authorize(caller, verb, Target(kind, ns, name), sub)
        if sub == "console":
            if self.console is None:
                raise ApiError(404, "the server could not find the requested resource")
            return await self.console.handle(request, ns, name)
        if self.virtapi is None:
            raise ApiError(503, "the KubeVirt API is not running")
        body = await self._body(request) if request.method == "PUT" else None
        dry_run = bool(self._dry_run(request.query.getall("dryRun", [])))
        status, payload = self.virtapi.handle(
            request.method, resource, ns, name, sub, body, dry_run=dry_run
        )
        if payload is None:
            return web.Response(status=status)
        return _json(payload, status)

    async def _access_review(
        self, request: web.Request, caller: Caller, path: str, rest: list[str]
    ) -> web.StreamResponse:
        if not rest:
            self._record(request, caller, path, "get")
            return _json(
                {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": f"{K.AUTHZ}/v1",
                    "resources": [
                        {
                            "name": "selfsubjectaccessreviews",
                            "singularName": "selfsubjectaccessreview",
                            "namespaced": False,
                            "kind": "SelfSubjectAccessReview",
                            "verbs": ["create"],
                        }
                    ],
                }
            )
        if rest != ["selfsubjectaccessreviews"] or request.method != "POST":
            raise ApiError(404, "the server could not find the requested resource")
        self._record(request, caller, path, "create")
        body = await self._body(request) or {}
        attrs = (body.get("spec") or {}).get("resourceAttributes") or {}
        group = attrs.get("group", "")
        resource = attrs.get("resource", "")
        allowed = False
        reason = ""
        if group == K.SUBRESOURCES:
            kind = (
                K.VMS
                if resource == "virtualmachines"
                else K.VMIS
                if resource == "virtualmachineinstances"
                else None
            )
        else:
            kind = next((k for k in KINDS if k.group == group and k.plural == resource), None)
        if kind is not None:
            allowed = self.would_allow(
                caller.user,
                attrs.get("verb", ""),
                kind,
                attrs.get("namespace") or None,
                attrs.get("name") or None,
                attrs.get("subresource") or None,
            )
            reason = "RBAC: allowed by ClusterRoleBinding" if allowed else ""
        body = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": f"{K.AUTHZ}/v1",
            "metadata": {"creationTimestamp": None},
            "spec": body.get("spec") or {},
            "status": {"allowed": allowed, **({"reason": reason} if reason else {})},
        }
        return _json(body, 201)

    async def _processed_template(
        self, request: web.Request, caller: Caller, path: str, namespace: str
    ) -> web.StreamResponse:
        self._record(request, caller, path, "create")
        if request.method != "POST":
            raise ApiError(405, "the server does not allow this method on the requested resource")
        target = Target(K.TEMPLATES, namespace)
        self._authorize(caller, "create", target)
        if self.store.peek(K.NAMESPACES, None, namespace) is None:
            raise errors.not_found(K.NAMESPACES, namespace)
        body = await self._body(request)
        if not isinstance(body, dict) or body.get("kind") != "Template":
            raise ApiError(
                400, "the body of the request was in an unknown format - expected a Template"
            )
        if self.process_template is None:
            raise ApiError(404, "the server could not find the requested resource")
        return _json(self.process_template(body), 201)


def _json_type(value: Any) -> str:
    """How Go's encoding/json names a JSON value's type in its unmarshal errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"
