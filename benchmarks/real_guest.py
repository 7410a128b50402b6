"""Real tiny guests: what one costs, on this machine, right now.

    python benchmarks/real_guest.py [--guests 2] [--rounds 10]

Starts a private session libvirtd (tui/demo/libvirtd.py), boots `--guests` tiny guests one
after the other in KubeVirt's serial layout, each watched from before it exists through its
serial socket (`UnixSocketConsole`), and prints:

- daemon start: spawn to socket;
- createXML (the first includes QEMU's capability probe, cached for the daemon's life);
- define → banner and define → prompt (wall clock), and the guest's own uptime at the banner;
- the round trip of `echo rN-$((6*7))` → `rN-42` over the socket (min / median / max);
- QEMU's resident memory (RSS, Pss, private dirty) and CPU use while idle;
- disk: the daemon's state directory and the guest image cache;
- stop: destroy + daemon exit + directory removed.

TCG only (no KVM), so boot times follow the host's load: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.console.libvirt import UnixSocketConsole  # noqa: E402
from tui.demo.guest_image import cache_dir, find_guest  # noqa: E402
from tui.demo.libvirtd import SessionDaemon, _processes_mentioning, domain_xml  # noqa: E402


def du(path: Path) -> str:
    out = subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True).stdout
    return out.split()[0] if out else "?"


def wait_for(buf: bytearray, needle: bytes, start: int = 0, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in buf[start:]:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {needle!r}; got {bytes(buf[-300:])!r}")
        time.sleep(0.002)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guests", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    guest = find_guest()
    if not guest:
        print(f"cannot run: {guest}")
        return 2
    started = time.monotonic()
    daemon = SessionDaemon().start()
    print(f"daemon start: {daemon.start_seconds:.3f} s   ({daemon.uri})")
    try:
        conn = daemon.connect()
        image = daemon.guest_copy(guest)
        for index in range(args.guests):
            uid = f"{index:08d}-0000-4000-8000-000000000000"
            folder = daemon.vmi_dir(uid)
            sock = folder / "virt-serial0"
            buf = bytearray()
            console = UnixSocketConsole(sock, retry_interval=0.01)
            console.open(buf.extend, lambda change: None)
            t0 = time.monotonic()
            xml = domain_xml(f"default_bench{index}", image, sock, serial_log=folder / "log")
            conn.createXML(xml, 0)
            created = time.monotonic() - t0
            wait_for(buf, image.banner.encode())
            banner = time.monotonic() - t0
            wait_for(buf, image.prompt.encode())
            prompt = time.monotonic() - t0
            uptime = re.search(rb"uptime=([0-9.]+)s", buf)
            rtts = []
            for n in range(args.rounds):
                mark = len(buf)
                t1 = time.monotonic()
                console.write(f"echo r{n}-$((6*7))\n".encode())
                wait_for(buf, f"\nr{n}-42".encode(), mark)
                rtts.append((time.monotonic() - t1) * 1000)
            console.close()
            console.join(5)
            print(
                f"guest {index}: createXML {created:.2f} s, define->banner {banner:.2f} s "
                f"(guest uptime {uptime.group(1).decode() if uptime else '?'} s), "
                f"define->prompt {prompt:.2f} s, round trip min/median/max "
                f"{min(rtts):.0f}/{statistics.median(rtts):.0f}/{max(rtts):.0f} ms"
            )
        assert daemon.dir is not None
        qemus = [
            pid
            for pid in _processes_mentioning(str(daemon.dir))
            if b"qemu-system" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu(pid: int) -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        before = {pid: cpu(pid) for pid in qemus}
        time.sleep(5)
        for pid in qemus:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            fields = dict(re.findall(r"^(\w+):\s+(\d+) kB", rollup, re.M))
            print(
                f"qemu {pid}: RSS {int(fields['Rss']) // 1024} MB, Pss {int(fields['Pss']) // 1024} MB, "
                f"private dirty {int(fields['Private_Dirty']) // 1024} MB, "
                f"idle CPU {(cpu(pid) - before[pid]) / 5 * 100:.1f} %"
            )
        print(f"disk: daemon dir {du(daemon.dir)}, guest cache {du(cache_dir())}")
    finally:
        t2 = time.monotonic()
        folder = daemon.dir
        daemon.stop()
        left = _processes_mentioning(str(folder)) if folder else []
        print(
            f"stop: {time.monotonic() - t2:.2f} s, processes left: {len(left)}, "
            f"dir left: {bool(folder and folder.exists())}; total {time.monotonic() - started:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
