"""ClusterError: what the user reads when the API server says no."""

from __future__ import annotations

import json
import socket

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from tui.cluster.errors import (
    Cause,
    ClusterError,
    from_api_exception,
    from_status,
    from_transport_error,
    read_only_error,
    redact,
)


def api_exception(status: int, body: object, reason: str = "", headers: dict | None = None):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps(body) if not isinstance(body, (str, bytes)) else body
    exc.headers = headers or {}
    return exc


def status_body(code: int, reason: str, message: str, **details: object) -> dict:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def test_forbidden_names_the_verb_and_the_resource():
    message = (
        'virtualmachines.kubevirt.io "db" is forbidden: User "viewer" cannot delete resource '
        '"virtualmachines" in API group "kubevirt.io" in the namespace "vm-prod"'
    )
    err = from_api_exception(
        api_exception(403, status_body(403, "Forbidden", message, name="db")),
        "delete",
        "virtualmachines in vm-prod",
        kind="VirtualMachine",
        name="db",
    )
    assert str(err) == "Forbidden: you may not delete virtualmachines in vm-prod"
    assert err.title == "Forbidden"
    assert err.detail == message
    assert err.status == 403 and err.reason == "Forbidden"


def test_stale_update_conflict_says_what_conflicted():
    message = (
        'Operation cannot be fulfilled on virtualmachines.kubevirt.io "db": the object has '
        "been modified; please apply your changes to the latest version and try again"
    )
    err = from_api_exception(
        api_exception(409, status_body(409, "Conflict", message)),
        "update",
        "virtualmachines in vm-prod",
        kind="VirtualMachine",
        name="db",
    )
    assert err.title == "Conflict"
    assert err.is_conflict
    assert 'VirtualMachine "db" was changed by someone else' in str(err)
    assert "reload" in str(err)
    assert err.detail == message


def test_subresource_conflict_keeps_kubevirts_reason():
    message = 'Operation cannot be fulfilled on virtualmachine.kubevirt.io "db": VM is not running'
    err = from_api_exception(
        api_exception(409, status_body(409, "Conflict", message)),
        "stop",
        "virtualmachines in vm-prod",
        kind="VirtualMachine",
        name="db",
    )
    assert str(err) == "Conflict: cannot stop db: VM is not running"


def test_already_exists_has_its_own_title():
    message = 'virtualmachines.kubevirt.io "db" already exists'
    err = from_api_exception(
        api_exception(409, status_body(409, "AlreadyExists", message)),
        "create",
        "virtualmachines in vm-prod",
    )
    assert err.title == "Already exists"
    assert str(err) == f"Already exists: {message}"


def test_invalid_lists_field_causes_with_their_wire_keys():
    causes = [
        {
            "reason": "FieldValueInvalid",
            "message": "spec.template.spec.domain.devices.interfaces[0].name 'nic9' not found.",
            "field": "spec.template.spec.domain.devices.interfaces[0].name",
        },
        {
            "reason": "FieldValueRequired",
            "message": "RunStrategy must be specified",
            "field": "spec.runStrategy",
        },
    ]
    message = (
        'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: '
        "spec.template.spec.domain.devices.interfaces[0].name 'nic9' not found."
    )
    body = status_body(422, "Invalid", message, name="db", kind="VirtualMachine", causes=causes)
    err = from_api_exception(api_exception(422, body), "create", "virtualmachines in vm-prod")
    assert err.title == "Invalid"
    assert err.causes == [
        Cause("FieldValueInvalid", causes[0]["field"], causes[0]["message"]),
        Cause("FieldValueRequired", "spec.runStrategy", "RunStrategy must be specified"),
    ]
    assert str(err).startswith('Invalid: VirtualMachine "db" is invalid: ')
    assert "spec.runStrategy: RunStrategy must be specified" in str(err)
    assert err.field_messages()["spec.runStrategy"] == ["RunStrategy must be specified"]


def test_cause_type_key_is_accepted_too():
    body = status_body(
        422,
        "Invalid",
        "bad",
        causes=[{"type": "FieldValueInvalid", "field": "spec.x", "message": "no"}],
    )
    err = from_api_exception(api_exception(422, body), "create", "virtualmachines in a")
    assert err.causes == [Cause("FieldValueInvalid", "spec.x", "no")]


def test_unauthorized_says_credentials_were_refused():
    err = from_api_exception(
        api_exception(401, status_body(401, "Unauthorized", "Unauthorized")),
        "list",
        "virtualmachines in all namespaces",
    )
    assert err.title == "Unauthorized"
    assert "refused the credentials" in str(err)


def test_not_found_names_the_object():
    message = 'virtualmachines.kubevirt.io "ghost" not found'
    err = from_api_exception(
        api_exception(404, status_body(404, "NotFound", message)),
        "get",
        "virtualmachines in vm-prod",
        kind="VirtualMachine",
        name="ghost",
    )
    assert err.is_not_found
    assert str(err) == 'Not found: VirtualMachine "ghost" not found (virtualmachines in vm-prod)'


def test_a_body_that_is_not_a_status_is_kept_short():
    err = from_api_exception(
        api_exception(502, "<html><body>" + "x" * 1000 + "</body></html>", reason="Bad Gateway"),
        "get",
        "virtualmachines in a",
    )
    assert err.title == "Bad gateway"
    assert err.status == 502
    assert len(str(err)) < 260


def test_bytes_bodies_from_the_legacy_client_are_parsed():
    body = json.dumps(status_body(404, "NotFound", 'pods "x" not found')).encode()
    err = from_api_exception(api_exception(404, body), "get", "pods in a")
    assert err.detail == 'pods "x" not found'


def test_retry_after_is_read_from_headers():
    err = from_api_exception(
        api_exception(
            429, status_body(429, "TooManyRequests", "slow down"), headers={"Retry-After": "3"}
        ),
        "list",
        "pods",
    )
    assert err.retry_after == 3.0
    assert err.title == "Too many requests"


def test_status_zero_is_a_transport_error():
    exc = ApiException(status=0, reason="SSLError\ncertificate verify failed")
    err = from_api_exception(exc, "get", "pods", server="https://k8s.example:6443")
    assert err.transport
    assert str(err).startswith("Cannot reach the cluster at https://k8s.example:6443")
    assert "\n" not in str(err)


def test_watch_error_event_status_becomes_gone():
    err = from_status(
        {
            "kind": "Status",
            "code": 410,
            "reason": "Expired",
            "message": "too old resource version: 1 (50)",
        },
        None,
        "watch",
        "pods in a",
    )
    assert err.is_gone
    assert "too old resource version" in str(err)


def test_tokens_never_reach_a_message():
    token = "eyJhbGciOiJSUzI1NiJ9.payload.signature"
    message = f"bad header Authorization: Bearer {token}"
    err = from_api_exception(
        api_exception(400, status_body(400, "BadRequest", message)), "get", "pods in a"
    )
    assert token not in str(err)
    assert token not in err.detail
    assert token not in redact(f'{{"token": "{token}"}}')
    assert err.detail == "bad header Authorization: ***"


def test_read_only_refusal_is_one_line():
    err = read_only_error("delete", 'virtualmachines in vm-prod ("db")')
    assert isinstance(err, ClusterError)
    assert err.title == "Read-only mode"
    assert str(err).startswith("Read-only mode: kvtui runs read-only; refusing to delete")
    assert err.status is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_reads_as_one_sentence():
    port = _free_port()
    pool = urllib3.PoolManager(retries=False)
    with pytest.raises(urllib3.exceptions.HTTPError) as info:
        pool.request("GET", f"http://127.0.0.1:{port}/version", timeout=2)
    err = from_transport_error(info.value, f"http://127.0.0.1:{port}")
    assert str(err) == f"Cannot reach the cluster at http://127.0.0.1:{port}: connection refused"
    assert err.transport and err.status is None


def test_unknown_host():
    pool = urllib3.PoolManager(retries=False)
    with pytest.raises(urllib3.exceptions.HTTPError) as info:
        pool.request("GET", "http://no-such-host.invalid/version", timeout=2)
    err = from_transport_error(info.value, "https://no-such-host.invalid")
    assert str(err) == "Cannot reach the cluster at https://no-such-host.invalid: unknown host"


def test_a_list_404_means_the_kind_is_not_served():
    err = from_api_exception(
        api_exception(
            404, status_body(404, "NotFound", "the server could not find the requested resource")
        ),
        "list",
        "virtualmachines in vm-dev",
    )
    assert str(err).startswith("Not found: the cluster does not serve virtualmachines")


def test_not_found_about_another_resource_keeps_the_servers_words():
    # KubeVirt's migrate on a stopped VM looks up the VMI and reports that one missing.
    message = 'virtualmachineinstance.kubevirt.io "db" not found'
    body = status_body(
        404, "NotFound", message, name="db", group="kubevirt.io", kind="virtualmachineinstance"
    )
    err = from_api_exception(
        api_exception(404, body),
        "migrate",
        "virtualmachines in vm-prod",
        kind="VirtualMachine",
        name="db",
    )
    assert str(err) == f"Not found: {message}"
    body["details"]["kind"] = "virtualmachines"
    err = from_api_exception(
        api_exception(404, body),
        "get",
        "virtualmachines in vm-prod",
        kind="VirtualMachine",
        name="db",
    )
    assert str(err) == 'Not found: VirtualMachine "db" not found (virtualmachines in vm-prod)'
