"""Every verb kvtui sends to a cluster: CRUD, patches, and KubeVirt's lifecycle subresources.

Each method returns the server's answer as a plain dict (or None for an empty answer, as
the 202/200 subresource replies are) and raises `ClusterError` only. Methods block: screens
call them from worker threads. With `read_only=True` every mutating method raises
`ClusterError("Read-only mode", …)` before anything is sent — dry runs included, since a
dry run is still a write request the user did not ask to be able to send.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from kubernetes.client.exceptions import ApiException

from tui.cluster import kinds as K
from tui.cluster.connection import Connection, HttpResponse
from tui.cluster.errors import ClusterError, from_api_exception, read_only_error
from tui.cluster.kinds import Kind

__all__ = ["FIELD_MANAGER", "Operations", "subresource_path"]

FIELD_MANAGER = "kvtui"
SUBRESOURCE_API = f"/apis/{K.SUBRESOURCES}/v1"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PROCESSED_TEMPLATES = f"/apis/{K.TEMPLATE}/v1/namespaces/{{ns}}/processedtemplates"
SSAR_PATH = f"/apis/{K.AUTHZ}/v1/selfsubjectaccessreviews"


def subresource_path(plural: str, namespace: str, name: str, sub: str) -> str:
    """`/apis/subresources.kubevirt.io/v1/namespaces/{ns}/{plural}/{name}/{sub}`."""
    return f"{SUBRESOURCE_API}/namespaces/{namespace}/{plural}/{name}/{sub}"


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


class Operations:
    """The verbs, bound to one Connection. Thread-safe; `last_warnings` is per thread."""

    def __init__(self, connection: Connection, *, read_only: bool = False) -> None:
        self.connection = connection
        self.read_only = read_only
        self._local = threading.local()

    @property
    def last_warnings(self) -> list[str]:
        """The `Warning` headers of this thread's last request (deprecations, unknown
        fields with fieldValidation=Warn, KubeVirt's `running` deprecation, …)."""
        return list(getattr(self._local, "warnings", []))

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def _kind(kind: Kind | str) -> Kind:
        if isinstance(kind, Kind):
            return kind
        try:
            return K.by_key(kind)
        except KeyError:
            raise ClusterError("Unknown kind", f"kvtui does not know the kind {kind!r}") from None

    def _ns(self, kind: Kind, namespace: str | None) -> str | None:
        if not kind.namespaced:
            return None
        return namespace or self.connection.namespace

    @staticmethod
    def _what(kind: Kind, namespace: str | None, sub: str | None = None) -> str:
        resource = kind.plural + (f"/{sub}" if sub else "")
        if not kind.namespaced:
            return resource
        return f"{resource} in {namespace}" if namespace else f"{resource} in all namespaces"

    def _call(
        self,
        method: str,
        path: str,
        *,
        verb: str,
        what: str,
        mutating: bool,
        kind_name: str | None = None,
        name: str | None = None,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
    ) -> Any:
        if mutating and self.read_only:
            target = f'{what} ("{name}")' if name else what
            raise read_only_error(verb, target)
        self._local.warnings = []
        try:
            response: HttpResponse = self.connection.request(
                method, path, query=query, body=body, content_type=content_type
            )
        except ApiException as exc:
            raise from_api_exception(
                exc, verb, what, kind=kind_name, name=name, server=self.connection.server
            ) from exc
        self._local.warnings = response.warnings
        try:
            return response.json()
        except ValueError:
            # Some subresources answer 2xx with a plain-text body; there is no object.
            return None

    @staticmethod
    def _write_query(dry_run: bool, field_validation: str | None = None) -> dict[str, Any]:
        query: dict[str, Any] = {"fieldManager": FIELD_MANAGER}
        if dry_run:
            query["dryRun"] = "All"
        if field_validation:
            query["fieldValidation"] = field_validation
        return query

    # ------------------------------------------------------------------ generic verbs

    def get(self, kind: Kind | str, ns: str | None, name: str) -> dict[str, Any]:
        """GET one object."""
        kind = self._kind(kind)
        ns = self._ns(kind, ns)
        return self._call(
            "GET",
            kind.path(ns, name),
            verb="get",
            what=self._what(kind, ns),
            mutating=False,
            kind_name=kind.kind,
            name=name,
        )

    def list(
        self,
        kind: Kind | str,
        ns: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        *,
        page_size: int = 500,
    ) -> dict[str, Any]:
        """List (all namespaces when `ns` is None), following `continue` tokens.

        Returns one List object: `items` from every page, the first page's resourceVersion.
        """
        kind = self._kind(kind)
        ns = ns if kind.namespaced else None
        path = kind.path(ns)
        items: list[dict[str, Any]] = []
        first: dict[str, Any] | None = None
        token: str | None = None
        restarted = False
        while True:
            query: dict[str, Any] = {"limit": page_size, "continue": token}
            query["labelSelector"] = label_selector
            query["fieldSelector"] = field_selector
            try:
                page = self._call(
                    "GET",
                    path,
                    verb="list",
                    what=self._what(kind, ns),
                    mutating=False,
                    kind_name=kind.kind,
                    query=query,
                )
            except ClusterError as err:
                if err.status == 410 and token and not restarted:
                    # Continue token expired: a consistent list needs a fresh start.
                    items, first, token, restarted = [], None, None, True
                    continue
                raise
            page = page or {}
            if first is None:
                first = page
            for item in page.get("items") or []:
                item.setdefault("apiVersion", kind.api_version)
                item.setdefault("kind", kind.kind)
                items.append(item)
            token = _meta(page).get("continue") or None
            if not token:
                break
        result = {k: v for k, v in (first or {}).items() if k != "items"}
        result.setdefault("apiVersion", kind.api_version)
        result.setdefault("kind", f"{kind.kind}List")
        metadata = dict(_meta(result))
        metadata.pop("continue", None)
        metadata.pop("remainingItemCount", None)
        result["metadata"] = metadata
        result["items"] = items
        return result

    def create(
        self,
        kind: Kind | str,
        obj: dict[str, Any],
        ns: str | None = None,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        """POST a new object (namespace: `ns`, else the object's, else the context's).

        `field_validation` is "Strict", "Warn" or "Ignore"; warnings land in `last_warnings`.
        """
        kind = self._kind(kind)
        ns = self._ns(kind, ns or _meta(obj).get("namespace"))
        return self._call(
            "POST",
            kind.path(ns),
            verb="create",
            what=self._what(kind, ns),
            mutating=True,
            kind_name=kind.kind,
            name=_meta(obj).get("name") or _meta(obj).get("generateName"),
            query=self._write_query(dry_run, field_validation),
            body=obj,
        )

    def replace(
        self,
        kind: Kind | str,
        obj: dict[str, Any],
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        """PUT the whole object. Its metadata.resourceVersion makes the write conditional:
        if someone changed it since, the server answers 409 → ClusterError "Conflict"."""
        kind = self._kind(kind)
        meta = _meta(obj)
        ns = self._ns(kind, meta.get("namespace"))
        name = meta.get("name")
        if not name:
            raise ClusterError("Invalid", "metadata.name is required to replace an object")
        return self._call(
            "PUT",
            kind.path(ns, name),
            verb="update",
            what=self._what(kind, ns),
            mutating=True,
            kind_name=kind.kind,
            name=name,
            query=self._write_query(dry_run, field_validation),
            body=obj,
        )

    def patch_merge(
        self,
        kind: Kind | str,
        ns: str | None,
        name: str,
        patch: dict[str, Any],
        resource_version: str | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """JSON merge patch (RFC 7386: lists are replaced whole). With `resource_version`
        the patch only applies if the object is still at that version (else 409)."""
        if resource_version is not None:
            patch = copy.deepcopy(patch)
            patch.setdefault("metadata", {})["resourceVersion"] = resource_version
        return self._patch(kind, ns, name, patch, MERGE_PATCH, dry_run, subresource)

    def patch_json(
        self,
        kind: Kind | str,
        ns: str | None,
        name: str,
        ops: list[dict[str, Any]],
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """JSON patch (RFC 6902): a list of ops; a failing `test` op gives 409/422."""
        return self._patch(kind, ns, name, list(ops), JSON_PATCH, dry_run, subresource)

    def _patch(
        self,
        kind: Kind | str,
        ns: str | None,
        name: str,
        body: Any,
        content_type: str,
        dry_run: bool,
        subresource: str | None,
    ) -> dict[str, Any]:
        kind = self._kind(kind)
        ns = self._ns(kind, ns)
        path = kind.path(ns, name) + (f"/{subresource}" if subresource else "")
        return self._call(
            "PATCH",
            path,
            verb="patch",
            what=self._what(kind, ns, subresource),
            mutating=True,
            kind_name=kind.kind,
            name=name,
            query=self._write_query(dry_run),
            body=body,
            content_type=content_type,
        )

    def delete(
        self,
        kind: Kind | str,
        ns: str | None,
        name: str,
        propagation: str | None = "Background",
        grace_period: int | None = None,
        dry_run: bool = False,
        preconditions_rv: str | None = None,
    ) -> dict[str, Any] | None:
        """DELETE with DeleteOptions; `preconditions_rv` refuses (409) if the object changed."""
        kind = self._kind(kind)
        ns = self._ns(kind, ns)
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            options["propagationPolicy"] = propagation
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if dry_run:
            options["dryRun"] = ["All"]
        if preconditions_rv:
            options["preconditions"] = {"resourceVersion": preconditions_rv}
        return self._call(
            "DELETE",
            kind.path(ns, name),
            verb="delete",
            what=self._what(kind, ns),
            mutating=True,
            kind_name=kind.kind,
            name=name,
            body=options,
        )

    # ------------------------------------------------------------------ KubeVirt subresources

    def _sub(
        self,
        kind: Kind,
        ns: str,
        name: str,
        sub: str,
        body: dict[str, Any] | None = None,
        *,
        verb: str | None = None,
    ) -> Any:
        table = K.VM_SUBRESOURCES if kind is K.VMS else K.VMI_SUBRESOURCES
        method = table.get(sub)
        if method is None:
            raise ClusterError("Not supported", f"{kind.plural} have no {sub} subresource")
        ns = self._ns(kind, ns) or ""
        return self._call(
            method,
            subresource_path(kind.plural, ns, name, sub),
            verb=verb or sub,
            what=self._what(kind, ns),
            mutating=method != "GET",
            kind_name=kind.kind,
            name=name,
            body=body if method != "GET" else None,
        )

    def start(self, ns: str, name: str, paused: bool = False) -> None:
        """Start a VM (202); 409 when it is already running or its runStrategy says no."""
        return self._sub(K.VMS, ns, name, "start", {"paused": True} if paused else {})

    def stop(self, ns: str, name: str, grace_period: int | None = None) -> None:
        """Stop a VM (202); 409 when it is not running."""
        body = {"gracePeriod": grace_period} if grace_period is not None else {}
        return self._sub(K.VMS, ns, name, "stop", body)

    def restart(self, ns: str, name: str, force: bool = False) -> None:
        """Restart a VM (202); `force` deletes the VMI without a grace period."""
        return self._sub(K.VMS, ns, name, "restart", {"gracePeriodSeconds": 0} if force else {})

    def migrate(self, ns: str, name: str) -> None:
        """Live-migrate a running VM (202; virt-api creates the migration object)."""
        return self._sub(K.VMS, ns, name, "migrate", {})

    def cancel_migration(self, ns: str, migration_name: str) -> dict[str, Any] | None:
        """Cancel a live migration: delete its VirtualMachineInstanceMigration."""
        return self.delete(K.VMIMS, ns, migration_name)

    def pause(self, ns: str, name: str) -> None:
        """Pause a running VMI (200)."""
        return self._sub(K.VMIS, ns, name, "pause", {})

    def unpause(self, ns: str, name: str) -> None:
        """Unpause a paused VMI (200)."""
        return self._sub(K.VMIS, ns, name, "unpause", {})

    def softreboot(self, ns: str, name: str) -> None:
        """Ask the guest to reboot (ACPI or guest agent; 200)."""
        return self._sub(K.VMIS, ns, name, "softreboot")

    def reset(self, ns: str, name: str) -> None:
        """Hard-reset the VMI (200)."""
        return self._sub(K.VMIS, ns, name, "reset")

    def freeze(self, ns: str, name: str, unfreeze_timeout: str = "5m0s") -> None:
        """Freeze the guest's filesystems (needs the guest agent; 200)."""
        return self._sub(K.VMIS, ns, name, "freeze", {"unfreezeTimeout": unfreeze_timeout})

    def unfreeze(self, ns: str, name: str) -> None:
        """Thaw the guest's filesystems (200)."""
        return self._sub(K.VMIS, ns, name, "unfreeze")

    def add_volume(
        self,
        ns: str,
        name: str,
        volume_name: str,
        disk: dict[str, Any],
        volume_source: dict[str, Any],
        on: str = "vm",
    ) -> None:
        """Hotplug a volume. `volume_source` is `{"dataVolume": {...}}` or
        `{"persistentVolumeClaim": {...}}`; `on="vm"` persists it in the VM spec."""
        disk = {"name": volume_name, **disk}
        body = {"name": volume_name, "disk": disk, "volumeSource": volume_source}
        return self._sub(self._target(on), ns, name, "addvolume", body, verb="add a volume to")

    def remove_volume(self, ns: str, name: str, volume_name: str, on: str = "vm") -> None:
        """Unplug a hotplugged volume."""
        return self._sub(
            self._target(on),
            ns,
            name,
            "removevolume",
            {"name": volume_name},
            verb="remove a volume from",
        )

    @staticmethod
    def _target(on: str) -> Kind:
        if on not in ("vm", "vmi"):
            raise ClusterError("Invalid", f'on must be "vm" or "vmi", not {on!r}')
        return K.VMS if on == "vm" else K.VMIS

    def guest_os_info(self, ns: str, name: str) -> dict[str, Any] | None:
        """The guest agent's view (OS, hostname, timezone); 500/409 without an agent."""
        return self._sub(K.VMIS, ns, name, "guestosinfo", verb="read guest info of")

    def user_list(self, ns: str, name: str) -> dict[str, Any] | None:
        """Users logged in to the guest (guest agent)."""
        return self._sub(K.VMIS, ns, name, "userlist", verb="read users of")

    def filesystem_list(self, ns: str, name: str) -> dict[str, Any] | None:
        """The guest's filesystems (guest agent)."""
        return self._sub(K.VMIS, ns, name, "filesystemlist", verb="read filesystems of")

    def expand_spec(self, ns: str, name: str) -> dict[str, Any] | None:
        """The VM with its instancetype and preference applied."""
        return self._sub(K.VMS, ns, name, "expand-spec", verb="expand")

    # ------------------------------------------------------------------ create helpers

    @staticmethod
    def _vm_ref(vm: str) -> dict[str, str]:
        return {"apiGroup": K.KUBEVIRT, "kind": "VirtualMachine", "name": vm}

    def _create_named(
        self, kind: Kind, ns: str, name: str | None, generate: str, spec: dict[str, Any]
    ) -> dict[str, Any]:
        """Create a `kind` with `spec`, named `name` or generated from the prefix `generate`."""
        metadata = (
            {"namespace": ns, "name": name} if name else {"namespace": ns, "generateName": generate}
        )
        obj = {
            "apiVersion": kind.api_version,
            "kind": kind.kind,
            "metadata": metadata,
            "spec": spec,
        }
        return self.create(kind, obj, ns)

    def snapshot(self, ns: str, vm: str, name: str | None = None) -> dict[str, Any]:
        """Create a VirtualMachineSnapshot of `vm` (generated name `<vm>-snapshot-…`)."""
        return self._create_named(
            K.SNAPSHOTS, ns, name, f"{vm}-snapshot-", {"source": self._vm_ref(vm)}
        )

    def restore(self, ns: str, vm: str, snapshot: str, name: str | None = None) -> dict[str, Any]:
        """Create a VirtualMachineRestore of `snapshot` onto `vm` (which must be stopped)."""
        return self._create_named(
            K.RESTORES,
            ns,
            name,
            f"{vm}-restore-",
            {"target": self._vm_ref(vm), "virtualMachineSnapshotName": snapshot},
        )

    def clone(
        self, ns: str, source_vm: str, target_vm: str, name: str | None = None
    ) -> dict[str, Any]:
        """Create a VirtualMachineClone from `source_vm` to a new VM `target_vm`."""
        return self._create_named(
            K.CLONES,
            ns,
            name,
            f"{source_vm}-clone-",
            {"source": self._vm_ref(source_vm), "target": self._vm_ref(target_vm)},
        )

    def export(self, ns: str, vm: str, name: str | None = None) -> dict[str, Any]:
        """Create a VirtualMachineExport of `vm`'s volumes."""
        return self._create_named(
            K.EXPORTS, ns, name, f"{vm}-export-", {"source": self._vm_ref(vm)}
        )

    def process_template(self, ns: str, template: dict[str, Any]) -> dict[str, Any]:
        """Have the server process an OpenShift Template (parameters substituted, values
        generated). Creates nothing, so it is allowed in read-only mode."""
        body = dict(template)
        body.setdefault("apiVersion", K.TEMPLATES.api_version)
        body.setdefault("kind", K.TEMPLATES.kind)
        return self._call(
            "POST",
            PROCESSED_TEMPLATES.format(ns=ns),
            verb="process",
            what=f"templates in {ns}",
            mutating=False,
            kind_name=K.TEMPLATES.kind,
            name=_meta(template).get("name"),
            body=body,
        )

    # ------------------------------------------------------------------ RBAC

    def can_i(
        self,
        verb: str,
        kind: Kind | str,
        ns: str | None = None,
        subresource: str | None = None,
        name: str | None = None,
    ) -> bool | None:
        """Whether the user may `verb` the kind (SelfSubjectAccessReview).

        True only when the server says allowed; None when the server cannot answer the
        question (no SSAR API, or not permitted to ask) — the UI then lets the request
        itself decide. Transport failures raise ClusterError.
        """
        kind = self._kind(kind)
        attributes: dict[str, Any] = {
            "verb": verb,
            "group": kind.group,
            "resource": kind.plural,
        }
        if kind.namespaced and ns:
            attributes["namespace"] = ns
        if subresource:
            attributes["subresource"] = subresource
        if name:
            attributes["name"] = name
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        try:
            answer = self._call(
                "POST",
                SSAR_PATH,
                verb="create",
                what="selfsubjectaccessreviews",
                mutating=False,
                body=review,
            )
        except ClusterError as err:
            if err.transport:
                raise
            return None
        status = (answer or {}).get("status") or {}
        return bool(status.get("allowed")) and not status.get("denied", False)
