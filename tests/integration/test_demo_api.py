"""The demo API server answers the real kubernetes client as a real API server would."""

from __future__ import annotations

import base64
import json
import threading

import pytest
from kubernetes import client, watch
from kvtest import api_client_for, ca_file, raw, vm_manifest, wait_for

from tui.cluster import kinds as K

GROUP, VERSION, VMS = "kubevirt.io", "v1", "virtualmachines"


def status_of(exc: client.ApiException) -> dict:
    return json.loads(exc.body)


@pytest.fixture
def co(fresh_api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(fresh_api)


# -- discovery and auth ---------------------------------------------------------------------


def test_discovery_lists_every_kind_with_verbs_and_short_names(api: client.ApiClient) -> None:
    assert client.VersionApi(api).get_code().git_version.startswith("v1.")
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {
        "kubevirt.io",
        "snapshot.kubevirt.io",
        "cdi.kubevirt.io",
        "template.openshift.io",
        "subresources.kubevirt.io",
    } <= groups
    for kind in K.KINDS:
        path = f"/apis/{kind.group}/{kind.version}" if kind.group else "/api/v1"
        status, _, body = raw(api, "GET", path)
        assert status == 200 and body["kind"] == "APIResourceList"
        entry = next(r for r in body["resources"] if r["name"] == kind.plural)
        assert entry["kind"] == kind.kind and entry["namespaced"] == kind.namespaced
        assert "watch" in entry["verbs"]
        if kind.short_names:
            assert entry["shortNames"] == list(kind.short_names)
        names = {r["name"] for r in body["resources"]}
        assert (f"{kind.plural}/status" in names) == kind.has_status
    status, _, body = raw(api, "GET", "/apis/subresources.kubevirt.io/v1")
    names = {r["name"] for r in body["resources"]}
    assert {
        "virtualmachines/start",
        "virtualmachineinstances/console",
        "virtualmachineinstances/pause",
    } <= names


def test_requests_without_the_token_get_401(demo) -> None:
    cfg = client.Configuration()
    cfg.host = demo.url
    cfg.ssl_ca_cert = ca_file(demo)
    with client.ApiClient(cfg) as anonymous, pytest.raises(client.ApiException) as err:
        client.CoreV1Api(anonymous).list_namespace()
    assert err.value.status == 401
    assert status_of(err.value)["reason"] == "Unauthorized"


# -- CRUD semantics -------------------------------------------------------------------------


def test_create_sets_server_fields_and_ignores_status(co: client.CustomObjectsApi) -> None:
    body = vm_manifest("alpha")
    body["status"] = {"printableStatus": "Running"}
    vm = co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, body)
    meta = vm["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0
    assert vm.get("status", {}).get("printableStatus") != "Running"


def test_namespaces_are_active_and_carry_their_name_label(fresh_api: client.ApiClient) -> None:
    core = client.CoreV1Api(fresh_api)
    ns = core.create_namespace({"metadata": {"name": "ns-lifecycle"}})
    assert ns.status.phase == "Active"
    assert ns.metadata.labels["kubernetes.io/metadata.name"] == "ns-lifecycle"
    assert core.read_namespace("default").status.phase == "Active"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"edited": True}, "cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels"),
        ({"n": 3}, "cannot unmarshal number into Go struct field ObjectMeta.metadata.labels"),
        ("x", "unmarshal string into Go struct field ObjectMeta.metadata.labels of type map"),
    ],
)
def test_label_values_must_be_strings(
    co: client.CustomObjectsApi, labels: object, expected: str
) -> None:
    """YAML's `edited: yes` is a bool: the real server refuses it while decoding (400)."""
    body = vm_manifest("bad-labels", namespace="default")
    body["metadata"]["labels"] = labels
    with pytest.raises(client.ApiException) as err:
        co.create_namespaced_custom_object("kubevirt.io", "v1", "default", "virtualmachines", body)
    assert err.value.status == 400
    assert expected in status_of(err.value)["message"]


def test_generate_name_and_name_validation(co: client.CustomObjectsApi) -> None:
    body = vm_manifest("x")
    body["metadata"] = {"generateName": "gen-"}
    vm = co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, body)
    assert vm["metadata"]["name"].startswith("gen-") and len(vm["metadata"]["name"]) == 9
    with pytest.raises(client.ApiException) as err:
        co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, vm_manifest("Bad_Name"))
    assert err.value.status == 422
    causes = status_of(err.value)["details"]["causes"]
    assert causes[0]["field"] == "metadata.name"


def test_name_clash_is_409_already_exists(co: client.CustomObjectsApi) -> None:
    co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, vm_manifest("twin"))
    with pytest.raises(client.ApiException) as err:
        co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, vm_manifest("twin"))
    assert err.value.status == 409
    body = status_of(err.value)
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'virtualmachines.kubevirt.io "twin" already exists'


def test_missing_object_and_namespace_are_404_status(co: client.CustomObjectsApi) -> None:
    with pytest.raises(client.ApiException) as err:
        co.get_namespaced_custom_object(GROUP, VERSION, "default", VMS, "nope")
    body = status_of(err.value)
    assert err.value.status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["details"] == {"kind": "virtualmachines", "group": "kubevirt.io", "name": "nope"}
    with pytest.raises(client.ApiException) as err:
        co.create_namespaced_custom_object(GROUP, VERSION, "no-such-ns", VMS, vm_manifest("a"))
    assert err.value.status == 404
    assert status_of(err.value)["message"] == 'namespaces "no-such-ns" not found'


def nad_manifest(name: str) -> dict:
    """A NetworkAttachmentDefinition: a custom kind no simulated controller writes to."""
    return {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": name},
        "spec": {"config": '{"cniVersion": "0.3.1", "type": "bridge", "bridge": "br1"}'},
    }


NAD = ("k8s.cni.cncf.io", "v1", "default", "network-attachment-definitions")


def test_stale_put_is_409_conflict(co: client.CustomObjectsApi) -> None:
    nad = co.create_namespaced_custom_object(*NAD, nad_manifest("stale"))
    fresh = dict(nad, spec={"config": "{}"})
    updated = co.replace_namespaced_custom_object(*NAD, "stale", fresh)
    assert updated["metadata"]["generation"] == 2
    with pytest.raises(client.ApiException) as err:
        co.replace_namespaced_custom_object(*NAD, "stale", nad)
    assert err.value.status == 409
    assert "the object has been modified" in status_of(err.value)["message"]
    # A custom resource can't be replaced without saying which version it was based on.
    unconditional = dict(
        updated, metadata={k: v for k, v in updated["metadata"].items() if k != "resourceVersion"}
    )
    with pytest.raises(client.ApiException) as err:
        co.replace_namespaced_custom_object(*NAD, "stale", unconditional)
    assert err.value.status == 422


def test_controller_status_writes_make_a_stale_vm_write_conflict(
    co: client.CustomObjectsApi,
) -> None:
    """As on a real cluster: virt-controller writes a new VM's status at once, so a client
    replacing the VM with the version its create returned gets 409 and must re-read."""
    vm = co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, vm_manifest("racy"))
    wait_for(
        lambda: (
            co.get_namespaced_custom_object(GROUP, VERSION, "default", VMS, "racy")
            .get("status", {})
            .get("printableStatus")
        ),
        what="the controller's first status write",
    )
    vm["spec"]["runStrategy"] = "Manual"
    with pytest.raises(client.ApiException) as err:
        co.replace_namespaced_custom_object(GROUP, VERSION, "default", VMS, "racy", vm)
    assert err.value.status == 409


def test_status_subresource_split(fresh_api: client.ApiClient) -> None:
    core = client.CoreV1Api(fresh_api)
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "split"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Bound"},
    }
    created = core.create_namespaced_persistent_volume_claim("default", pvc)
    assert created.status is None or created.status.phase != "Bound"  # status ignored on create
    created.spec.resources.requests["storage"] = "2Gi"
    created.status = client.V1PersistentVolumeClaimStatus(phase="Lost")
    after = core.replace_namespaced_persistent_volume_claim("split", "default", created)
    assert after.spec.resources.requests["storage"] == "2Gi"
    assert after.status is None or after.status.phase != "Lost"  # main resource ignores status
    after.spec.resources.requests["storage"] = "3Gi"
    after.status = client.V1PersistentVolumeClaimStatus(phase="Bound")
    st = core.replace_namespaced_persistent_volume_claim_status("split", "default", after)
    assert st.status.phase == "Bound"
    assert st.spec.resources.requests["storage"] == "2Gi"  # /status ignores the spec


def test_merge_and_json_patch(co: client.CustomObjectsApi, fresh_api: client.ApiClient) -> None:
    co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, vm_manifest("patchy"))
    merged = co.patch_namespaced_custom_object(
        GROUP, VERSION, "default", VMS, "patchy", {"metadata": {"labels": {"tier": "web"}}}
    )
    assert merged["metadata"]["labels"] == {"app": "patchy", "tier": "web"}
    path = "/apis/kubevirt.io/v1/namespaces/default/virtualmachines/patchy"
    ops = [
        {"op": "test", "path": "/spec/runStrategy", "value": "Halted"},
        {"op": "replace", "path": "/spec/runStrategy", "value": "Manual"},
    ]
    status, _, body = raw(fresh_api, "PATCH", path, ops, content_type="application/json-patch+json")
    assert status == 200 and body["spec"]["runStrategy"] == "Manual"
    # The same patch again: its test op fails, as virt-api's guarded patches do on a race.
    status, _, body = raw(fresh_api, "PATCH", path, ops, content_type="application/json-patch+json")
    assert (
        status == 422 and body["message"] == "testing value /spec/runStrategy failed: test failed"
    )
    # Strategic merge patch is refused on custom resources, as the real server refuses it.
    status, _, body = raw(
        fresh_api,
        "PATCH",
        path,
        {"metadata": {"labels": {"a": "b"}}},
        content_type="application/strategic-merge-patch+json",
    )
    assert status == 415 and body["reason"] == "UnsupportedMediaType"
    # A merge patch carrying a stale resourceVersion is a precondition: 409.
    status, _, body = raw(
        fresh_api,
        "PATCH",
        path,
        {"metadata": {"resourceVersion": "1", "labels": {"x": "y"}}},
        content_type="application/merge-patch+json",
    )
    assert status == 409


def test_dry_run_creates_and_changes_nothing(co: client.CustomObjectsApi) -> None:
    vm = co.create_namespaced_custom_object(
        GROUP, VERSION, "default", VMS, vm_manifest("dry"), dry_run="All"
    )
    assert vm["metadata"]["name"] == "dry"
    with pytest.raises(client.ApiException):
        co.get_namespaced_custom_object(GROUP, VERSION, "default", VMS, "dry")
    real = co.create_namespaced_custom_object(*NAD, nad_manifest("dry"))
    co.patch_namespaced_custom_object(
        *NAD, "dry", {"metadata": {"labels": {"z": "1"}}}, dry_run="All"
    )
    co.delete_namespaced_custom_object(*NAD, "dry", dry_run="All")
    after = co.get_namespaced_custom_object(*NAD, "dry")
    assert after["metadata"]["resourceVersion"] == real["metadata"]["resourceVersion"]


def test_finalizers_keep_a_deleted_object_terminating(
    co: client.CustomObjectsApi, fresh_api: client.ApiClient
) -> None:
    body = vm_manifest("fin")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, body)
    status, _, deleted = raw(
        fresh_api, "DELETE", "/apis/kubevirt.io/v1/namespaces/default/virtualmachines/fin"
    )
    assert status == 202 and deleted["metadata"]["deletionTimestamp"]
    still = co.get_namespaced_custom_object(GROUP, VERSION, "default", VMS, "fin")
    assert still["metadata"]["deletionTimestamp"]
    co.patch_namespaced_custom_object(
        GROUP, VERSION, "default", VMS, "fin", {"metadata": {"finalizers": None}}
    )
    with pytest.raises(client.ApiException) as err:
        co.get_namespaced_custom_object(GROUP, VERSION, "default", VMS, "fin")
    assert err.value.status == 404


def test_list_paging_and_selectors(co: client.CustomObjectsApi) -> None:
    for i in range(7):
        body = vm_manifest(f"page-{i}")
        body["metadata"]["labels"]["parity"] = "even" if i % 2 == 0 else "odd"
        co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, body)
    seen, token, pages = [], None, 0
    while True:
        page = co.list_namespaced_custom_object(
            GROUP, VERSION, "default", VMS, limit=3, _continue=token
        )
        seen += [i["metadata"]["name"] for i in page["items"]]
        pages += 1
        token = page["metadata"].get("continue")
        if not token:
            break
    assert pages == 3 and seen == sorted(f"page-{i}" for i in range(7))
    odd = co.list_cluster_custom_object(GROUP, VERSION, VMS, label_selector="parity=odd")
    assert sorted(i["metadata"]["name"] for i in odd["items"]) == ["page-1", "page-3", "page-5"]
    notodd = co.list_cluster_custom_object(
        GROUP, VERSION, VMS, label_selector="parity,parity notin (odd)"
    )
    assert len(notodd["items"]) == 4
    one = co.list_cluster_custom_object(GROUP, VERSION, VMS, field_selector="metadata.name=page-2")
    assert [i["metadata"]["name"] for i in one["items"]] == ["page-2"]
    none = co.list_cluster_custom_object(
        GROUP, VERSION, VMS, field_selector="metadata.namespace=vm-prod"
    )
    assert none["items"] == []
    with pytest.raises(client.ApiException) as err:
        co.list_cluster_custom_object(GROUP, VERSION, VMS, field_selector="spec.runStrategy=Halted")
    assert err.value.status == 400


# -- watch ----------------------------------------------------------------------------------


def test_watch_from_a_version_sees_each_change_then_bookmarks(
    co: client.CustomObjectsApi,
) -> None:
    rv = co.list_namespaced_custom_object(*NAD)["metadata"]["resourceVersion"]
    co.create_namespaced_custom_object(*NAD, nad_manifest("w1"))
    co.patch_namespaced_custom_object(*NAD, "w1", {"metadata": {"labels": {"k": "v"}}})
    co.delete_namespaced_custom_object(*NAD, "w1")
    events = []
    for ev in watch.Watch().stream(
        co.list_namespaced_custom_object,
        *NAD,
        resource_version=rv,
        allow_watch_bookmarks=True,
        timeout_seconds=1,
    ):
        events.append((ev["type"], ev["object"]["metadata"].get("name")))
    assert events[:3] == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]
    assert ("BOOKMARK", None) in events[3:]  # fresh_demo sends a bookmark every 0.2 s of silence


def test_watch_streams_live_changes(co: client.CustomObjectsApi) -> None:
    rv = co.list_namespaced_custom_object(GROUP, VERSION, "default", VMS)["metadata"][
        "resourceVersion"
    ]
    got: list[str] = []

    def consume() -> None:
        for ev in watch.Watch().stream(
            co.list_namespaced_custom_object,
            GROUP,
            VERSION,
            "default",
            VMS,
            resource_version=rv,
            timeout_seconds=3,
        ):
            got.append(ev["type"])
            if ev["type"] == "ADDED":
                return

    t = threading.Thread(target=consume)
    t.start()
    co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, vm_manifest("live"))
    t.join(5)
    assert got == ["ADDED"]


def test_watch_from_a_compacted_version_is_410_gone(
    co: client.CustomObjectsApi, fresh_demo
) -> None:
    rv = co.list_namespaced_custom_object(GROUP, VERSION, "default", VMS)["metadata"][
        "resourceVersion"
    ]
    co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, vm_manifest("old"))
    fresh_demo.call(lambda store: store.compact())
    with pytest.raises(client.ApiException) as err:
        for _ in watch.Watch().stream(
            co.list_namespaced_custom_object,
            GROUP,
            VERSION,
            "default",
            VMS,
            resource_version=rv,
            timeout_seconds=2,
        ):
            pass
    assert err.value.status == 410


def test_continue_token_expires_after_compaction(co: client.CustomObjectsApi, fresh_demo) -> None:
    for i in range(3):
        co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, vm_manifest(f"exp-{i}"))
    page = co.list_namespaced_custom_object(GROUP, VERSION, "default", VMS, limit=1)
    co.patch_namespaced_custom_object(
        GROUP, VERSION, "default", VMS, "exp-0", {"metadata": {"labels": {"n": "1"}}}
    )
    fresh_demo.call(lambda store: store.compact())
    with pytest.raises(client.ApiException) as err:
        co.list_namespaced_custom_object(
            GROUP, VERSION, "default", VMS, limit=1, _continue=page["metadata"]["continue"]
        )
    assert err.value.status == 410


# -- RBAC -----------------------------------------------------------------------------------


def test_viewer_reads_but_never_writes_and_never_sees_vm_prod(demo) -> None:
    with api_client_for(demo, viewer=True) as viewer:
        co = client.CustomObjectsApi(viewer)
        assert co.list_namespaced_custom_object(GROUP, VERSION, "vm-dev", VMS)["items"]
        for call, verb in (
            (lambda: co.list_namespaced_custom_object(GROUP, VERSION, "vm-prod", VMS), "list"),
            (
                lambda: co.get_namespaced_custom_object(GROUP, VERSION, "vm-prod", VMS, "web-01"),
                "get",
            ),
            (
                lambda: co.delete_namespaced_custom_object(
                    GROUP, VERSION, "vm-dev", VMS, "dev-fedora"
                ),
                "delete",
            ),
            (
                lambda: co.create_namespaced_custom_object(
                    GROUP, VERSION, "vm-dev", VMS, vm_manifest("nope")
                ),
                "create",
            ),
        ):
            with pytest.raises(client.ApiException) as err:
                call()
            body = status_of(err.value)
            assert err.value.status == 403 and body["reason"] == "Forbidden"
            assert f'cannot {verb} resource "virtualmachines"' in body["message"]
        status, _, body = raw(
            viewer,
            "PUT",
            "/apis/subresources.kubevirt.io/v1/namespaces/vm-dev/virtualmachines/dev-fedora/stop",
            {},
        )
        assert status == 403


@pytest.mark.parametrize(
    ("viewer", "verb", "namespace", "allowed"),
    [
        (False, "delete", "vm-prod", True),
        (True, "list", "vm-dev", True),
        (True, "list", "vm-prod", False),
        (True, "delete", "vm-dev", False),
    ],
)
def test_self_subject_access_review(
    demo, viewer: bool, verb: str, namespace: str, allowed: bool
) -> None:
    with api_client_for(demo, viewer=viewer) as api:
        review = client.AuthorizationV1Api(api).create_self_subject_access_review(
            {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {
                    "resourceAttributes": {
                        "group": GROUP,
                        "resource": VMS,
                        "verb": verb,
                        "namespace": namespace,
                    }
                },
            }
        )
        assert review.status.allowed is allowed


# -- validation -----------------------------------------------------------------------------


def test_webhook_rejects_invalid_vm_with_field_causes(co: client.CustomObjectsApi) -> None:
    body = vm_manifest("broken")
    body["spec"]["template"]["spec"]["networks"] = []  # the interface now names no network
    with pytest.raises(client.ApiException) as err:
        co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, body)
    st = status_of(err.value)
    assert err.value.status == 422 and st["reason"] == "Invalid"
    assert st["message"].startswith(
        'admission webhook "virtualmachine-validator.kubevirt.io" denied the request'
    )
    fields = [c["field"] for c in st["details"]["causes"]]
    assert any(f.startswith("spec.template.spec.domain.devices.interfaces[0]") for f in fields), (
        fields
    )


def test_deprecated_running_field_is_accepted_with_a_warning(fresh_api: client.ApiClient) -> None:
    body = vm_manifest("legacy")
    del body["spec"]["runStrategy"]
    body["spec"]["running"] = False
    status, headers, vm = raw(
        fresh_api, "POST", "/apis/kubevirt.io/v1/namespaces/default/virtualmachines", body
    )
    assert status == 201
    assert "deprecated" in headers.get("Warning", "")


def test_strict_field_validation(fresh_api: client.ApiClient) -> None:
    body = vm_manifest("typo")
    body["spec"]["template"]["spec"]["domain"]["devicess"] = {}
    path = "/apis/kubevirt.io/v1/namespaces/default/virtualmachines"
    status, _, st = raw(fresh_api, "POST", path, body, query=[("fieldValidation", "Strict")])
    assert status == 400
    assert (
        'strict decoding error: unknown field "spec.template.spec.domain.devicess"' in st["message"]
    )
    status, headers, _ = raw(fresh_api, "POST", path, body, query=[("fieldValidation", "Warn")])
    assert status == 201
    assert headers["Warning"] == '299 - "unknown field \\"spec.template.spec.domain.devicess\\""'


# -- tables (what kubectl prints) -------------------------------------------------------------


def test_table_output_uses_the_crd_printer_columns(demo, api: client.ApiClient) -> None:
    status, _, table = raw(
        api,
        "GET",
        "/apis/kubevirt.io/v1/virtualmachines",
        accept="application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    )
    assert status == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age", "Status", "Ready"]
    names = [r["cells"][0] for r in table["rows"]]
    assert "web-01" in names


# -- templates ------------------------------------------------------------------------------


def test_processed_templates_substitutes_parameters(demo, api: client.ApiClient) -> None:
    tmpl = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "template.openshift.io", "v1", "openshift", "templates", "fedora-server-small"
    )
    for p in tmpl["parameters"]:
        if p["name"] == "NAME":
            p["value"] = "my-fedora"
    status, _, processed = raw(
        api, "POST", "/apis/template.openshift.io/v1/namespaces/vm-dev/processedtemplates", tmpl
    )
    assert status == 201
    vm = processed["objects"][0]
    assert vm["metadata"]["name"] == "my-fedora"
    assert "${" not in json.dumps(vm)
    assert vm["metadata"]["labels"]["vm.kubevirt.io/template"] == "fedora-server-small"


def test_continue_token_is_opaque_base64(co: client.CustomObjectsApi) -> None:
    for i in range(2):
        co.create_namespaced_custom_object(GROUP, VERSION, "default", VMS, vm_manifest(f"tok-{i}"))
    token = co.list_namespaced_custom_object(GROUP, VERSION, "default", VMS, limit=1)["metadata"][
        "continue"
    ]
    base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
