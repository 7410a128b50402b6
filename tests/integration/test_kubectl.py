"""kubectl works against the standalone demo server (`python -m tui.demo`), as against a cluster."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kvtest import skip_unless, wait_for

KUBECTL = shutil.which("kubectl")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo server in its own process, as a user would run it for kubectl."""
    skip_unless(KUBECTL is not None, "kubectl is not installed")
    kubeconfig = tmp_path_factory.mktemp("standalone") / "kubeconfig"
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.demo",
            "--port",
            str(port),
            "--kubeconfig",
            str(kubeconfig),
            "--time-scale",
            "0.02",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert f"127.0.0.1:{port}" in line, proc.stderr.read() if proc.stderr else line
        wait_for(kubeconfig.exists, what="the kubeconfig file")
        yield kubeconfig
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0


def kubectl(
    kubeconfig: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [KUBECTL or "kubectl", "--kubeconfig", str(kubeconfig), *args]
    res = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)
    if check and res.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({res.returncode}): {res.stderr}")
    return res


def test_get_all_namespaces_prints_printer_columns(standalone: Path) -> None:
    out = kubectl(standalone, "get", "vm", "-A").stdout
    header = out.splitlines()[0].split()
    assert header == ["NAMESPACE", "NAME", "AGE", "STATUS", "READY"]
    assert "web-01" in out and "vm-prod" in out


def test_get_output_yaml_and_label_selector(standalone: Path) -> None:
    docs = yaml.safe_load(
        kubectl(standalone, "get", "vm", "-n", "vm-prod", "web-01", "-o", "yaml").stdout
    )
    assert docs["kind"] == "VirtualMachine" and docs["metadata"]["namespace"] == "vm-prod"
    listed = json.loads(
        kubectl(standalone, "get", "vms", "-A", "-l", "app=web", "-o", "json").stdout
    )
    names = sorted(i["metadata"]["name"] for i in listed["items"])
    assert "web-01" in names and "db-01" not in names
    assert all(i["metadata"]["labels"]["app"] == "web" for i in listed["items"])


def test_create_patch_label_annotate_delete(standalone: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "vm.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kubevirt.io/v1",
                "kind": "VirtualMachine",
                "metadata": {"name": "from-kubectl", "namespace": "default"},
                "spec": {
                    "runStrategy": "Halted",
                    "template": {
                        "spec": {
                            "domain": {
                                "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]},
                                "memory": {"guest": "1Gi"},
                            },
                            "volumes": [
                                {
                                    "name": "root",
                                    "containerDisk": {"image": "quay.io/containerdisks/fedora:41"},
                                }
                            ],
                        }
                    },
                },
            }
        )
    )
    assert "created" in kubectl(standalone, "create", "-f", str(manifest)).stdout
    again = kubectl(standalone, "create", "-f", str(manifest), check=False)
    assert again.returncode != 0 and "AlreadyExists" in again.stderr
    kubectl(
        standalone,
        "patch",
        "vm",
        "from-kubectl",
        "-n",
        "default",
        "--type",
        "merge",
        "-p",
        '{"spec":{"runStrategy":"Manual"}}',
    )
    kubectl(
        standalone,
        "patch",
        "vm",
        "from-kubectl",
        "-n",
        "default",
        "--type",
        "json",
        "-p",
        '[{"op":"replace","path":"/spec/runStrategy","value":"Halted"}]',
    )
    kubectl(standalone, "label", "vm", "from-kubectl", "-n", "default", "tier=web")
    kubectl(standalone, "annotate", "vm", "from-kubectl", "-n", "default", "owner=ops")
    kubectl(standalone, "label", "ns", "default", "team=virt")
    vm = json.loads(
        kubectl(standalone, "get", "vm", "from-kubectl", "-n", "default", "-o", "json").stdout
    )
    assert vm["spec"]["runStrategy"] == "Halted"
    assert vm["metadata"]["labels"]["tier"] == "web"
    assert vm["metadata"]["annotations"]["owner"] == "ops"
    kubectl(standalone, "delete", "vm", "from-kubectl", "-n", "default", "--wait=false")
    wait_for(
        lambda: (
            kubectl(
                standalone, "get", "vm", "from-kubectl", "-n", "default", check=False
            ).returncode
            != 0
        ),
        what="the VM to be gone",
    )


def test_strict_validation_refuses_a_misspelled_field(standalone: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(
        "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: typo, namespace: default}\n"
        "spec:\n  runStrategy: Halted\n  template:\n    spec:\n      domain:\n        devices: {}\n        cpuu: {cores: 1}\n"
    )
    res = kubectl(standalone, "create", "-f", str(manifest), check=False)
    assert res.returncode != 0
    assert 'unknown field "spec.template.spec.domain.cpuu"' in res.stderr


def test_watch_prints_changes(standalone: Path) -> None:
    proc = subprocess.Popen(
        [
            KUBECTL or "kubectl",
            "--kubeconfig",
            str(standalone),
            "get",
            "vm",
            "-n",
            "vm-dev",
            "-w",
            "--request-timeout=20s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        kubectl(
            standalone, "label", "vm", "dev-sandbox", "-n", "vm-dev", "watched=yes", "--overwrite"
        )
        deadline = time.monotonic() + 15
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            lines.append(line)
            if sum("dev-sandbox" in x for x in lines) >= 2:  # the initial row, then the change
                break
        assert sum("dev-sandbox" in x for x in lines) >= 2, lines
    finally:
        proc.kill()
        proc.wait()
