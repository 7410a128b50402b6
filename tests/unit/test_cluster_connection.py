"""Connection: kubeconfig merging, contexts, credentials and TLS, without a cluster."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tui.cluster.connection import Connection, parse_warnings
from tui.cluster.errors import ClusterError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, *, clusters, users, contexts, current=None) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
    }
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def two_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """KUBECONFIG=a:b where both set a current-context and both define `shared`."""
    a = write_config(
        tmp_path / "a.yaml",
        clusters={
            "alpha": {"server": "https://alpha.example:6443"},
            "shared": {"server": "https://from-a"},
        },
        users={"alice": {"token": "token-alice-123456"}},
        contexts={
            "alpha": {"cluster": "alpha", "user": "alice"},
            "shared": {"cluster": "shared", "user": "alice"},
        },
        current="alpha",
    )
    b = write_config(
        tmp_path / "b.yaml",
        clusters={
            "beta": {"server": "http://127.0.0.1:1/"},
            "shared": {"server": "https://from-b"},
        },
        users={"bob": {"token": "token-bob-abcdef"}},
        contexts={
            "beta": {"cluster": "beta", "user": "bob", "namespace": "team-b"},
            "shared": {"cluster": "shared", "user": "bob"},
        },
        current="beta",
    )
    monkeypatch.setenv("KUBECONFIG", f"{a}{os.pathsep}{tmp_path / 'missing.yaml'}{os.pathsep}{b}")
    return a, b


def test_kubeconfig_files_merge_like_kubectl(two_files):
    conn = Connection.from_kubeconfig()
    # The first file to set current-context wins, as with kubectl.
    assert conn.context == "alpha"
    assert conn.server == "https://alpha.example:6443"
    assert conn.namespace == "default"
    assert conn.user == "alice"
    assert conn.contexts() == ["alpha", "shared", "beta"]
    assert conn.auth_headers() == {"Authorization": "Bearer token-alice-123456"}


def test_first_definition_of_a_name_wins(two_files):
    conn = Connection.from_kubeconfig(context="shared")
    assert conn.server == "https://from-a"
    assert conn.user == "alice"


def test_switch_gives_a_new_connection_with_the_other_context(two_files):
    conn = Connection.from_kubeconfig()
    other = conn.switch("beta")
    assert other is not conn
    assert (other.context, other.namespace, other.user) == ("beta", "team-b", "bob")
    assert other.server == "http://127.0.0.1:1"
    assert other.auth_headers() == {"Authorization": "Bearer token-bob-abcdef"}
    # The original is untouched.
    assert conn.context == "alpha"
    assert conn.auth_headers()["Authorization"].endswith("alice-123456")


def test_explicit_path_beats_the_environment(two_files, tmp_path):
    _, b = two_files
    conn = Connection.from_kubeconfig(str(b))
    assert conn.context == "beta"
    assert conn.contexts() == ["beta", "shared"]


def test_unknown_context_lists_the_known_ones(two_files):
    with pytest.raises(ClusterError) as info:
        Connection.from_kubeconfig(context="gamma")
    assert info.value.title == "Unknown context"
    assert "alpha" in str(info.value) and "beta" in str(info.value)


def test_no_kubeconfig_anywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope.yaml"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ClusterError) as info:
        Connection.auto()
    assert info.value.title == "No kubeconfig found"
    assert str(tmp_path / "nope.yaml") in str(info.value)
    with pytest.raises(ClusterError, match="No kubeconfig found"):
        Connection.from_kubeconfig()


def test_auto_uses_home_kubeconfig(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    write_config(
        home / ".kube" / "config",
        clusters={"c": {"server": "https://c.example"}},
        users={"u": {"token": "t-1234567"}},
        contexts={"c": {"cluster": "c", "user": "u", "namespace": "ns1"}},
        current="c",
    )
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(home))
    conn = Connection.auto()
    assert (conn.context, conn.namespace) == ("c", "ns1")


def test_in_cluster_without_a_cluster_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    with pytest.raises(ClusterError) as info:
        Connection.in_cluster()
    assert info.value.title == "Not in a cluster"


def test_exec_plugin_tokens_are_fetched_again_when_expired(tmp_path, monkeypatch):
    counter = tmp_path / "count"
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        textwrap.dedent(
            f"""
            import json, pathlib
            p = pathlib.Path({str(counter)!r})
            n = int(p.read_text()) + 1 if p.exists() else 1
            p.write_text(str(n))
            print(json.dumps({{
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "kind": "ExecCredential",
                "status": {{"token": f"exec-token-{{n}}", "expirationTimestamp": "2000-01-01T00:00:00Z"}},
            }}))
            """
        )
    )
    path = write_config(
        tmp_path / "exec.yaml",
        clusters={"c": {"server": "https://c.example"}},
        users={
            "u": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": sys.executable,
                    "args": [str(plugin)],
                }
            }
        },
        contexts={"c": {"cluster": "c", "user": "u"}},
        current="c",
    )
    monkeypatch.delenv("KUBECONFIG", raising=False)
    conn = Connection.from_kubeconfig(str(path))
    first = conn.auth_headers()["Authorization"]
    second = conn.auth_headers()["Authorization"]
    assert first.startswith("Bearer exec-token-")
    assert second != first  # the expired credential was fetched again
    assert "exec-token" not in repr(conn)


def test_ws_url():
    conn = Connection(object(), context="c", server="https://k8s.example:6443/")
    path = "/apis/subresources.kubevirt.io/v1/namespaces/a/virtualmachineinstances/b/console"
    assert conn.ws_url(path) == "wss://k8s.example:6443" + path
    plain = Connection(object(), context="c", server="http://127.0.0.1:8080/prefix")
    assert plain.ws_url("x?y=1") == "ws://127.0.0.1:8080/prefix/x?y=1"
    assert plain.ssl_context() is None


def test_version_of_an_unreachable_cluster_is_one_line(tmp_path):
    port = _free_port()
    path = write_config(
        tmp_path / "c.yaml",
        clusters={"c": {"server": f"http://127.0.0.1:{port}"}},
        users={"u": {"token": "secret-token-xyz"}},
        contexts={"c": {"cluster": "c", "user": "u"}},
        current="c",
    )
    conn = Connection.from_kubeconfig(str(path))
    with pytest.raises(ClusterError) as info:
        conn.version()
    assert (
        str(info.value)
        == f"Cannot reach the cluster at http://127.0.0.1:{port}: connection refused"
    )
    assert "secret-token-xyz" not in str(info.value) + info.value.detail
    assert conn.kubevirt_version() is None  # best effort, never raises


def test_parse_warnings():
    class Headers:
        def getlist(self, name):
            assert name == "Warning"
            return [
                '299 - "unknown field \\"spec.foo\\""',
                '299 - "a", 299 - "b, with comma"',
            ]

    assert parse_warnings(Headers()) == ['unknown field "spec.foo"', "a", "b, with comma"]
    assert parse_warnings(None) == []


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(certificate) -> Iterator[tuple[str, list[str]]]:
    """An HTTPS server answering /version and recording Authorization headers."""
    cert, key = certificate
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            seen.append(self.headers.get("Authorization", ""))
            body = json.dumps({"major": "1", "minor": "31", "gitVersion": "v1.31.0"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def _tls_config(tmp_path: Path, server: str, cluster: dict, user: dict | None = None) -> Path:
    return write_config(
        tmp_path / "tls.yaml",
        clusters={"c": {"server": server, **cluster}},
        users={"u": user or {"token": "tls-token-1234567"}},
        contexts={"c": {"cluster": "c", "user": "u"}},
        current="c",
    )


def test_ca_from_the_kubeconfig_is_trusted(tmp_path, tls_server, certificate):
    url, seen = tls_server
    ca = base64.b64encode(certificate[0].read_bytes()).decode()
    conn = Connection.from_kubeconfig(
        str(_tls_config(tmp_path, url, {"certificate-authority-data": ca}))
    )
    assert conn.version()["gitVersion"] == "v1.31.0"
    assert seen[-1] == "Bearer tls-token-1234567"
    # The websocket side gets the same trust: a handshake with ssl_context() succeeds.
    ctx = conn.ssl_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED
    host, port = url.removeprefix("https://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            assert tls.version()


def test_an_untrusted_certificate_is_refused(tmp_path, tls_server):
    url, _ = tls_server
    conn = Connection.from_kubeconfig(str(_tls_config(tmp_path, url, {})))
    with pytest.raises(ClusterError) as info:
        conn.version()
    assert str(info.value).startswith(
        f"Cannot reach the cluster at {url}: TLS certificate verification failed"
    )


def test_insecure_skip_tls_verify_only_when_the_kubeconfig_says_so(
    tmp_path, tls_server, certificate
):
    url, _ = tls_server
    cert, key = certificate
    conn = Connection.from_kubeconfig(
        str(
            _tls_config(
                tmp_path,
                url,
                {"insecure-skip-tls-verify": True},
                {"client-certificate": str(cert), "client-key": str(key)},
            )
        )
    )
    assert conn.version()["major"] == "1"
    ctx = conn.ssl_context()
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    assert conn.auth_headers() == {}
