"""Fake KubeVirt virt-launchers (tests/launchers.py): what the e2e fixture costs, right now.

    sudo .venv/bin/python benchmarks/node_launchers.py [--launchers 2]

Starts `--launchers` fake launchers (a libvirtd each in its own mount namespace, every second
one non-root like KubeVirt's), boots
one tiny TCG guest in KubeVirt's serial layout in each (all at once, as the e2e fixture does),
and prints:

- launcher start: unshare spawned → libvirtd answering on its socket;
- define + create per guest (the first includes QEMU's capability probe; the launchers share
  its cache) and define → banner + prompt in the serial log;
- a discovery scan of /proc (tui.node.discovery) and how many launchers it found;
- `echo hello-$((6*7))` → `hello-42` over the serial socket (through /proc/<pid>/root);
- kill (SIGKILL to a launcher's namespace, as deleting the pod does) → NodeModel marks its
  domain stale;
- teardown: destroy, libvirtd stop, nothing left in the namespaces.

Root only. TCG, so boot times follow the host's load: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from launchers import Launcher, SerialClient, environment_problem  # noqa: E402

from tui.demo.guest_image import find_guest  # noqa: E402
from tui.libvirt_loop import ensure_event_loop, quiet_errors  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launchers", type=int, default=2)
    args = parser.parse_args()
    problem = environment_problem()
    if problem:
        print(f"cannot run: {problem}", file=sys.stderr)
        return 1
    image = find_guest()
    if not image:
        print(f"cannot run: {image}", file=sys.stderr)
        return 1
    ensure_event_loop()
    quiet_errors()
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    base = Path(tempfile.mkdtemp(prefix="kvtui-launchers-"))
    # As the e2e fixture: every second launcher non-root (uid 107, a session daemon).
    launchers = [
        Launcher(base, namespace=f"ns-{i}", vm=f"vm-{i}", user=107 if i % 2 else None)
        for i in range(args.launchers)
    ]
    try:
        for launcher in launchers:
            launcher.start()
            kind = "root" if launcher.user is None else f"uid {launcher.user}"
            print(
                f"launcher {launcher.vm} ({kind}): start {launcher.started_in:.3f} s "
                f"(pid {launcher.pid})"
            )
        for launcher in launchers:
            guest = launcher.define_guest(image)
            print(
                f"guest {guest.name}: define + create {time.monotonic() - guest.defined_at:.2f} s"
            )
        for launcher in launchers:
            print(
                f"guest {launcher.domain_name}: define → prompt {launcher.wait_for_banner():.2f} s"
            )

        from tui.node.discovery import discover

        t0 = time.monotonic()
        found = discover()
        ours = {launcher.pid for launcher in launchers}
        hits = sum(1 for seen in found.launchers if seen.pid in ours)
        print(
            f"discovery: {(time.monotonic() - t0) * 1000:.1f} ms over /proc, "
            f"{hits}/{len(launchers)} launchers found"
        )

        launcher = launchers[0]
        client = SerialClient(launcher.serial_socket())
        try:
            mark = client.mark()
            client.send(b"\n")
            client.wait_for(launcher.guests[0].prompt, 20, mark)
            rounds = []
            for n in range(5):
                mark = client.mark()
                t0 = time.monotonic()
                client.send(f"echo r{n}-$((6*7))\n".encode())
                client.wait_for(f"r{n}-42\r\n".encode(), 20, mark)
                rounds.append(time.monotonic() - t0)
            rounds.sort()
            print(
                f"serial round trip: min {rounds[0] * 1000:.1f} ms, "
                f"median {rounds[len(rounds) // 2] * 1000:.1f} ms, max {rounds[-1] * 1000:.1f} ms"
            )
        finally:
            client.close()

        if len(launchers) > 1:
            from tui.node.model import NodeModel

            victim = launchers[-1]
            model = NodeModel(discover_launchers=True, interval=0.5, rediscover_every=0.5)
            model.start()
            try:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    if any(r.name == victim.domain_name for r in model.rows()):
                        break
                    time.sleep(0.05)
                t0 = time.monotonic()
                victim.kill()
                killed = time.monotonic() - t0
                while time.monotonic() < deadline + 30:
                    row = next((r for r in model.rows() if r.name == victim.domain_name), None)
                    if row is not None and row.stale:
                        break
                    time.sleep(0.02)
                print(
                    f"kill {victim.vm}: SIGKILL + reap {killed:.2f} s, "
                    f"stale in the model after {time.monotonic() - t0:.2f} s"
                )
            finally:
                model.stop()
    finally:
        for launcher in launchers:
            t0 = time.monotonic()
            launcher.stop()
            print(f"teardown {launcher.vm}: {time.monotonic() - t0:.2f} s")
        shutil.rmtree(base, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
