"""The command line as a user meets it: help, version, and every way the start can fail.

Failures before the UI starts must be one line on stderr, exit status 1, no traceback, and
point at `--demo`. The processes run `python -m tui`, the same entry point as `kvtui`.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tui import __version__
from tui.cli import RedactSecrets, Settings, parse_settings, resolve_scope

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "kvtui-test-token-0123456789abcdef"


def run_kvtui(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    # Never let the developer's own $KUBECONFIG decide a test's outcome.
    full_env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    full_env.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def write_kubeconfig(path: Path, server: str, context: str = "prod") -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": TOKEN}}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_one_line_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("kvtui: ")
    for fragment in fragments:
        assert fragment in line, line
    assert TOKEN not in line
    return line


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A plain-HTTP server answering 401 with a metav1.Status, like an API server would."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            seen.append({k.lower(): v for k, v in self.headers.items()})
            body = json.dumps(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": "Unauthorized",
                    "code": 401,
                    "message": "Unauthorized",
                }
            ).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_version() -> None:
    result = run_kvtui("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"kvtui {__version__}"


def test_help_lists_the_kubectl_style_flags() -> None:
    result = run_kvtui("--help")
    assert result.returncode == 0
    for flag in (
        "--kubeconfig",
        "--context",
        "-n",
        "--namespace",
        "-A",
        "--all-namespaces",
        "--readonly",
        "--demo",
        "--debug",
        "--log-file",
        "--version",
    ):
        assert flag in result.stdout, flag


def test_unknown_flag_is_a_usage_error() -> None:
    result = run_kvtui("--frobnicate")
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_and_kubeconfig_exclude_each_other(tmp_path: Path) -> None:
    result = run_kvtui("--demo", "--kubeconfig", str(tmp_path / "x"))
    assert result.returncode == 2
    assert "--demo and --kubeconfig" in result.stderr


def test_unreachable_cluster_is_one_line_with_server_context_and_demo_hint(tmp_path: Path) -> None:
    server = f"https://127.0.0.1:{closed_port()}"
    config = write_kubeconfig(tmp_path / "config", server, context="prod")
    line = assert_one_line_failure(run_kvtui("--kubeconfig", str(config)), server, '"prod"', "demo")
    assert "connection refused" in line
    assert "cannot reach" in line


def test_missing_kubeconfig(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "config"
    assert_one_line_failure(
        run_kvtui("--kubeconfig", str(missing)), "no kubeconfig", str(missing), "demo"
    )


def test_no_kubeconfig_anywhere(tmp_path: Path) -> None:
    """A fresh machine: no ~/.kube/config, no $KUBECONFIG, not in a pod."""
    env = {"HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "absent")}
    env_clean = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    result = subprocess.run(
        [sys.executable, "-m", "tui"],
        cwd=ROOT,
        env={**env_clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert_one_line_failure(result, "no kubeconfig", "--demo")


def test_unknown_context(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "config", "https://127.0.0.1:1", context="prod")
    assert_one_line_failure(
        run_kvtui("--kubeconfig", str(config), "--context", "staging"), "staging", "prod", "demo"
    )


def test_kubeconfig_that_is_not_yaml(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("clusters: [\n", encoding="utf-8")
    assert_one_line_failure(run_kvtui("--kubeconfig", str(config)), "kubeconfig", "demo")


def test_tls_to_a_plain_http_server(tmp_path: Path, http_server: tuple[str, list]) -> None:
    address, _ = http_server
    config = write_kubeconfig(tmp_path / "config", f"https://{address}")
    line = assert_one_line_failure(run_kvtui("--kubeconfig", str(config)), address, "demo")
    assert "TLS" in line or "SSL" in line or "closed" in line or "broke" in line


def test_unauthorized(tmp_path: Path, http_server: tuple[str, list]) -> None:
    address, seen = http_server
    config = write_kubeconfig(tmp_path / "config", f"http://{address}")
    line = assert_one_line_failure(
        run_kvtui("--kubeconfig", str(config)), address, '"prod"', "demo"
    )
    assert "credentials" in line or "Unauthorized" in line
    assert seen, "the request reached the server"


def test_debug_log_is_written_and_holds_no_token(
    tmp_path: Path, http_server: tuple[str, list]
) -> None:
    address, seen = http_server
    config = write_kubeconfig(tmp_path / "config", f"http://{address}")
    log_file = tmp_path / "state" / "kvtui.log"
    result = run_kvtui("--kubeconfig", str(config), "--debug", "--log-file", str(log_file))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert any(TOKEN in str(headers.get("authorization")) for headers in seen), "token was sent"
    text = log_file.read_text(encoding="utf-8")
    assert "kvtui" in text and address in text  # the log is useful...
    assert TOKEN not in text  # ...and never holds the token
    assert oct(log_file.stat().st_mode & 0o777) == oct(0o600)
    assert str(log_file) in result.stderr  # the user is told where the log is


def test_debug_log_defaults_to_xdg_state_home(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "config", f"http://127.0.0.1:{closed_port()}")
    result = run_kvtui(
        "--kubeconfig", str(config), "--debug", env={"XDG_STATE_HOME": str(tmp_path / "xdg")}
    )
    assert result.returncode == 1
    assert (tmp_path / "xdg" / "kvtui" / "kvtui.log").is_file()


def test_redact_filter_scrubs_tokens_and_authorization_headers() -> None:
    record = logging.LogRecord(
        "x", logging.DEBUG, __file__, 1, "headers %s", ({"Authorization": f"Bearer {TOKEN}"},), None
    )
    assert RedactSecrets().filter(record)
    assert TOKEN not in record.getMessage()
    record = logging.LogRecord(
        "x", logging.DEBUG, __file__, 1, f"Authorization: Bearer {TOKEN}", None, None
    )
    RedactSecrets().filter(record)
    assert TOKEN not in record.getMessage()


def test_scope_rules() -> None:
    class Conn:
        namespace = "team-a"

    def scope(*argv: str) -> str | None:
        return resolve_scope(parse_settings(argv), Conn()).namespace  # type: ignore[arg-type]

    assert scope() == "team-a"  # the context's namespace, as kubectl
    assert scope("-n", "vms") == "vms"
    assert scope("-A") is None
    assert scope("-A", "-n", "vms") is None  # -A wins, as kubectl
    assert scope("--demo") is None  # the demo opens on all namespaces
    assert scope("--demo", "-n", "vm-dev") == "vm-dev"


def test_debug_log_file_default_and_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert parse_settings(["--debug"]).log_file == tmp_path / "kvtui" / "kvtui.log"
    assert parse_settings(["--debug", "--log-file", "x.log"]).log_file == Path("x.log")
    assert parse_settings([]).log_file is None
    assert parse_settings(["--readonly"]) == Settings(readonly=True)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """main() configures the root logger for a process of its own; undo that for pytest."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            handler.close()
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)


def test_demo_runs_the_app_through_the_normal_client_path(
    monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    """`kvtui --demo`: a demo server, a kubeconfig in a temporary folder, a real Connection;
    all of it gone when the app returns."""
    import tui.cli as cli

    seen: dict[str, object] = {}

    def fake_run_tui(settings: Settings, connection: object, kubevirt_version: str | None) -> int:
        seen["settings"] = settings
        seen["kubevirt"] = kubevirt_version
        seen["server"] = connection.server  # type: ignore[attr-defined]
        seen["kubeconfig_existed"] = Path(settings.kubeconfig or "").is_file()
        vms = connection.request("GET", "/apis/kubevirt.io/v1/virtualmachines").json()  # type: ignore[attr-defined]
        seen["vms"] = len(vms["items"])
        return 0

    monkeypatch.setattr(cli, "run_tui", fake_run_tui)
    assert cli.main(["--demo"]) == 0
    settings = seen["settings"]
    assert isinstance(settings, Settings)
    assert settings.demo and settings.namespace is None and settings.all_namespaces
    assert seen["kubeconfig_existed"] and not Path(settings.kubeconfig or "").exists()
    assert str(seen["server"]).startswith(("http://127.0.0.1:", "https://127.0.0.1:"))
    assert seen["kubevirt"]
    assert int(seen["vms"]) > 0  # type: ignore[call-overload]
    # The demo server is stopped on the way out.
    address = urlsplit(str(seen["server"]))
    with pytest.raises(OSError):
        socket.create_connection((address.hostname, address.port), timeout=2).close()
