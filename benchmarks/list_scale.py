"""The VM list at scale: 1,000 and 10,000 VMs on the demo cluster, against kubectl.

    .venv/bin/python benchmarks/list_scale.py [--sizes 1000,10000] [--burst-seconds 3]

For each size it prints one line:

- first list: from starting the app (headless, `App.run_test`) until the VM table holds
  every VM; beside it `kubectl get vm -A` against the same server (when kubectl exists);
- filter: median and p95 from a key typed in the `/` filter line to the frame that shows
  the filtered table (the app's `_display` is timed, so it includes Textual's frame pacing),
  and the same for the work alone (filter + order + redraw of the visible lines);
- burst lag: VMs modified at 1,000 per second through the demo store for a few seconds;
  how long after the last change the table shows it;
- peak RSS of this process (resource.getrusage): the UI alone, because the demo server
  runs in a child process (`--serve`), as a real API server would; in one process its
  JSON encoding would also compete with the UI for the GIL and distort every time.

Targets (issue 3): first list <= 1.5x kubectl; filter <= 16 ms median at 10,000;
RSS <= 300 MB; burst lag <= 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.cli import Settings  # noqa: E402
from tui.cluster.connection import Connection  # noqa: E402
from tui.cluster.kinds import VMS  # noqa: E402
from tui.demo.runtime import DemoCluster  # noqa: E402

NAMESPACES = ("default", "vm-prod", "vm-dev")


def vm_manifest(index: int) -> dict[str, Any]:
    """A small stopped VM (Halted: the simulator leaves it alone after its first status)."""
    name = f"bench-{index:05d}"
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {
            "name": name,
            "namespace": NAMESPACES[index % len(NAMESPACES)],
            "labels": {"bench": "yes", "tier": ("web", "db", "cache")[index % 3]},
        },
        "spec": {
            "runStrategy": "Halted",
            "template": {
                "spec": {
                    "domain": {
                        "cpu": {"cores": 1 + index % 4},
                        "memory": {"guest": f"{256 * (1 + index % 8)}Mi"},
                        "devices": {},
                    }
                }
            },
        },
    }


def fill(demo: DemoCluster, start: int, stop: int) -> None:
    """Create VMs straight in the demo's store (no HTTP: fast), in chunks."""
    template = [vm_manifest(i) for i in range(start, stop)]

    def create(chunk: list[dict[str, Any]]) -> None:
        def run(store: Any) -> None:
            for obj in chunk:
                store.create(VMS, copy.deepcopy(obj), obj["metadata"]["namespace"])

        demo.call(run, timeout=600)

    for offset in range(0, len(template), 500):
        create(template[offset : offset + 500])


def kubectl_time(kubeconfig: Path, expected: int) -> float | None:
    """Best of three `kubectl get vm -A` wall times (None without kubectl)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    times = []
    for _ in range(3):
        start = time.perf_counter()
        out = subprocess.run(
            [kubectl, "--kubeconfig", str(kubeconfig), "get", "vm", "-A", "--no-headers"],
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(time.perf_counter() - start)
        lines = out.stdout.count("\n")
        if lines < expected:
            print(f"  (kubectl listed {lines} of {expected})", file=sys.stderr)
    return min(times)


def burst(demo: DemoCluster, seconds: float, existing: int, rate: int = 1000) -> str:
    """Modify VMs at `rate` per second (10 every 10 ms); reply when the last one is sent."""
    names = [vm_manifest(i)["metadata"] for i in range(existing)]
    count = int(rate * seconds)
    begin = time.monotonic()
    meta: dict[str, Any] = {}
    strategy = "Halted"
    for batch in range(0, count, 10):
        chunk = [names[(batch + i) % len(names)] for i in range(10)]
        # Alternate each pass over the VMs, so every change is a real one.
        strategy = "Manual" if (batch // len(names)) % 2 == 0 else "Halted"

        def run(store: Any, chunk: list[dict[str, Any]] = chunk, s: str = strategy) -> None:
            for m in chunk:
                store.mutate(
                    VMS,
                    m["namespace"],
                    m["name"],
                    lambda obj, s=s: obj["spec"].__setitem__("runStrategy", s),
                )

        demo.call(run, timeout=60)
        meta = chunk[-1]
        delay = begin + (batch + 10) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    sent = time.monotonic()
    achieved = count / (sent - begin)
    return f"{sent} {meta['namespace']} {meta['name']} {strategy} {achieved:.0f}"


def serve(kubeconfig: Path) -> None:
    """The child process: a demo cluster that fills itself and sends bursts on command."""
    demo = DemoCluster(seed_data=False).start()
    demo.write_kubeconfig(kubeconfig)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] == "fill":
            fill(demo, int(words[1]), int(words[2]))
            time.sleep(1.0)  # let the simulator write the new VMs' status and settle
            print("ok", flush=True)
        elif words[0] == "burst":
            print(burst(demo, float(words[1]), int(words[2])), flush=True)
    demo.stop()


class Server:
    """The demo server in a child process, driven over its stdin/stdout."""

    def __init__(self, kubeconfig: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(kubeconfig)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the demo server did not start")

    def command(self, line: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def close(self) -> None:
        try:
            self.command("quit")
        except (BrokenPipeError, OSError):
            pass
        self.process.wait(timeout=30)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure_app(server: Server, kubeconfig: Path, expected: int, burst: float) -> dict:
    """Start kvtui on the demo, time the first list, the filter and a burst of changes."""
    from screens.vm_list import FilterInput, VmListScreen
    from tui.app import KvtuiApp
    from widgets.resource_table import ResourceTable

    connection = Connection.from_kubeconfig(str(kubeconfig), None)
    app = KvtuiApp(connection, Settings(namespace=None), kubevirt_version=None)
    figures: dict[str, Any] = {}
    frames: list[float] = []
    start = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        original_display = app._display  # noqa: SLF001 - the one place a frame is written

        def display(*args: Any, **kwargs: Any) -> Any:
            frames.append(time.perf_counter())
            return original_display(*args, **kwargs)

        app._display = display  # type: ignore[method-assign]  # noqa: SLF001

        def table() -> ResourceTable | None:
            screen = app.screen
            return screen.query_one(ResourceTable) if isinstance(screen, VmListScreen) else None

        while (t := table()) is None or t.total_count < expected:
            await asyncio.sleep(0.002)
        figures["first_list"] = time.perf_counter() - start
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VmListScreen)
        t = table()
        assert t is not None

        # ---- filter: key -> frame ------------------------------------------------
        await pilot.press("slash")
        await pilot.pause()
        field = screen.query_one(FilterInput)
        latencies: list[float] = []
        work: list[float] = []
        for text in ("bench-0", "bench-00", "bench-001", "!db", "tier", "-l tier=web", ""):
            field.value = ""
            await pilot.pause()
            for char in text:
                frames.clear()
                pressed = time.perf_counter()
                await pilot.press(char if char != " " else "space")
                await pilot.pause()
                if frames:
                    latencies.append(frames[0] - pressed)
            # The work alone: filter, order, then draw every visible line of the table.
            for _ in range(3):
                begin = time.perf_counter()
                screen._set_filter(text[: max(1, len(text))])  # noqa: SLF001
                for y in range(t.size.height):
                    t.render_line(y)
                work.append(time.perf_counter() - begin)
        field.value = ""
        await pilot.press("enter")
        await pilot.pause()
        figures["filter_median"] = statistics.median(latencies)
        figures["filter_p95"] = percentile(latencies, 0.95)
        figures["filter_work_median"] = statistics.median(work)
        figures["filter_work_p95"] = percentile(work, 0.95)

        # ---- burst of watch events (sent by the server process) -------------------
        loop = asyncio.get_running_loop()
        reply = await loop.run_in_executor(None, server.command, f"burst {burst} {expected}")
        sent, namespace, name, strategy, rate = reply.split()
        key = next(
            k for k in t.keys() if t.cell(k, "NAME") == name and t.cell(k, "NAMESPACE") == namespace
        )
        while t.cell(key, "RUN STRATEGY") != strategy:
            await asyncio.sleep(0.002)
        figures["burst_lag"] = time.monotonic() - float(sent)
        figures["burst_rate"] = float(rate)
    connection.close()
    figures["rss"] = rss_mb()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--burst-seconds", type=float, default=3.0)
    parser.add_argument("--serve", metavar="KUBECONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return
    sizes = [int(s) for s in args.sizes.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="kvtui-bench-"))
    kubeconfig = workdir / "config"
    server = Server(kubeconfig)
    created = 0
    try:
        for size in sizes:
            server.command(f"fill {created} {size}")
            created = size
            kubectl = kubectl_time(kubeconfig, size)
            figures = asyncio.run(measure_app(server, kubeconfig, size, args.burst_seconds))
            ratio = f" ({figures['first_list'] / kubectl:.2f}x)" if kubectl else ""
            kubectl_text = f"kubectl {kubectl:.2f} s" if kubectl else "kubectl n/a"
            print(
                f"{size:>6} VMs: first list {figures['first_list']:.2f} s vs {kubectl_text}{ratio}"
                f" | filter key->frame median {figures['filter_median'] * 1000:.1f} ms"
                f" p95 {figures['filter_p95'] * 1000:.1f} ms"
                f" (work median {figures['filter_work_median'] * 1000:.1f} ms"
                f" p95 {figures['filter_work_p95'] * 1000:.1f} ms)"
                f" | burst lag {figures['burst_lag'] * 1000:.0f} ms"
                f" at {figures['burst_rate']:.0f} ev/s"
                f" | peak RSS {figures['rss']:.0f} MB (UI process)",
                flush=True,
            )
    finally:
        server.close()


if __name__ == "__main__":
    main()
