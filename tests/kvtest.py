"""Helpers shared by the tests (importable as `kvtest`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes import client

if TYPE_CHECKING:
    from tui.demo.runtime import DemoCluster

# Tests run the simulated controllers this much faster than the demo does.
TEST_TIME_SCALE = 0.02


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_unless(condition: bool, reason: str) -> None:
    """Skip outside CI; in CI a missing dependency is a failure, never a skip."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


_CA_FILES: dict[bytes, str] = {}


def ca_file(demo: DemoCluster) -> str:
    """A file holding the demo's CA (the kubernetes client wants a path), one per CA.

    Keyed by the certificate itself, not the cluster object: ids are reused once a fixture's
    cluster is collected, and a stale CA fails verification."""
    pem = demo.tls.ca_pem
    if pem not in _CA_FILES:
        fd, path = tempfile.mkstemp(prefix="kvtui-demo-ca-", suffix=".crt")
        os.close(fd)
        _CA_FILES[pem] = str(demo.write_ca(path))
    return _CA_FILES[pem]


def api_client_for(demo: DemoCluster, *, viewer: bool = False) -> client.ApiClient:
    """A real kubernetes ApiClient talking HTTP to the demo server."""
    cfg = client.Configuration()
    cfg.host = demo.url
    cfg.ssl_ca_cert = ca_file(demo)
    token = demo.viewer_token if viewer else demo.token
    cfg.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(cfg)


def raw(
    api: client.ApiClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    query: list[tuple[str, str]] | None = None,
    accept: str = "application/json",
) -> tuple[int, dict[str, str], Any]:
    """One request through the client's own transport: (status, headers, decoded JSON or None)."""
    _, url, headers, ser_body, _ = api.param_serialize(
        method,
        path,
        query_params=query or [],
        header_params={"Content-Type": content_type, "Accept": accept},
        body=body,
        auth_settings=["BearerToken"],
    )
    resp = api.rest_client.request(method, url, headers=headers, body=ser_body, _request_timeout=10)
    data = resp.read()
    try:
        decoded = json.loads(data) if data else None
    except ValueError:
        decoded = data.decode(errors="replace")
    return resp.status, dict(resp.getheaders()), decoded


def wait_for(
    predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll until `predicate()` is truthy; fail the test with `what` when it never is."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what or predicate!r} (last: {last!r})")


def screen_text(app: Any) -> str:
    """The characters on the app's (virtual) terminal, one line per row, as a user reads them."""
    strips = app.screen._compositor.render_strips()  # noqa: SLF001 - no public API for this
    return "\n".join(strip.text for strip in strips)


async def pilot_wait_for(
    pilot: Any, predicate: Callable[[], Any], *, timeout: float = 15.0, what: str = ""
) -> Any:
    """Let a Pilot-driven app run until `predicate()` is truthy; fail with the screen if never."""
    steps = max(1, int(timeout / 0.1))
    for _ in range(steps):
        result = predicate()
        if result:
            return result
        await pilot.pause(0.1)
    result = predicate()
    if result:
        return result
    pytest.fail(
        f"timed out after {timeout}s waiting for {what or predicate!r}; the screen shows:\n"
        + screen_text(pilot.app)
    )


def vm_manifest(
    name: str,
    *,
    namespace: str | None = None,
    run_strategy: str = "Halted",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A minimal valid VM: one container disk, the pod network with masquerade."""
    metadata: dict[str, Any] = {"name": name, "labels": {"app": name, **(labels or {})}}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": metadata,
        "spec": {
            "runStrategy": run_strategy,
            "template": {
                "metadata": {"labels": {"kubevirt.io/domain": name}},
                "spec": {
                    "domain": {
                        "devices": {
                            "disks": [{"name": "rootdisk", "disk": {"bus": "virtio"}}],
                            "interfaces": [{"name": "default", "masquerade": {}}],
                        },
                        "resources": {"requests": {"memory": "1Gi"}},
                    },
                    "networks": [{"name": "default", "pod": {}}],
                    "volumes": [
                        {
                            "name": "rootdisk",
                            "containerDisk": {"image": "quay.io/containerdisks/fedora:41"},
                        }
                    ],
                },
            },
        },
    }
