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
- peak RSS of this process (resource.getrusage), which also holds the demo server and its
  10,000 objects; the figure for the UI alone is smaller.

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
import threading
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


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure_app(demo: DemoCluster, kubeconfig: Path, expected: int, burst: float) -> dict:
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

        # ---- burst of watch events -----------------------------------------------
        names = [vm_manifest(i)["metadata"] for i in range(expected)]
        rate = 1000
        done = threading.Event()
        last: dict[str, Any] = {}

        def modify() -> None:
            # 10 changes every 10 ms: 1,000 per second, each one a MODIFIED watch event.
            count = int(rate * burst)
            begin = time.perf_counter()
            for batch in range(0, count, 10):
                chunk = [names[(batch + i) % len(names)] for i in range(10)]
                strategy = "Manual" if (batch // len(names)) % 2 == 0 else "Halted"

                def run(store: Any, chunk: list[dict[str, Any]] = chunk, s: str = strategy) -> None:
                    for meta in chunk:
                        store.mutate(
                            VMS,
                            meta["namespace"],
                            meta["name"],
                            lambda obj, s=s: obj["spec"].__setitem__("runStrategy", s),
                        )

                demo.call(run, timeout=60)
                last["meta"], last["strategy"] = chunk[-1], strategy
                delay = begin + (batch + 10) / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            last["sent"] = time.perf_counter()
            last["rate"] = count / (last["sent"] - begin)
            done.set()

        sender = threading.Thread(target=modify, daemon=True)
        sender.start()
        while not done.is_set():
            await asyncio.sleep(0.005)
        meta, strategy = last["meta"], last["strategy"]
        key = next(
            k
            for k in t.keys()
            if t.cell(k, "NAME") == meta["name"] and t.cell(k, "NAMESPACE") == meta["namespace"]
        )
        while t.cell(key, "RUN STRATEGY") != strategy:
            await asyncio.sleep(0.002)
        figures["burst_lag"] = time.perf_counter() - last["sent"]
        figures["burst_rate"] = last["rate"]
    connection.close()
    figures["rss"] = rss_mb()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--burst-seconds", type=float, default=3.0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    demo = DemoCluster(seed_data=False).start()
    workdir = Path(tempfile.mkdtemp(prefix="kvtui-bench-"))
    kubeconfig = demo.write_kubeconfig(workdir / "config")
    created = 0
    try:
        for size in sizes:
            fill(demo, created, size)
            created = size
            time.sleep(1.0)  # let the simulator write the new VMs' status and settle
            baseline = rss_mb()
            kubectl = kubectl_time(kubeconfig, size)
            figures = asyncio.run(measure_app(demo, kubeconfig, size, args.burst_seconds))
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
                f" | peak RSS {figures['rss']:.0f} MB (demo+data before UI {baseline:.0f} MB)",
                flush=True,
            )
    finally:
        demo.stop()


if __name__ == "__main__":
    main()
