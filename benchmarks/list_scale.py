"""The VM list at scale: 1,000 and 10,000 VMs on the demo cluster, against kubectl.

    .venv/bin/python benchmarks/list_scale.py [--sizes 1000,10000] [--burst-seconds 3]
                                              [--first-list-runs 3]

For each size it prints one line:

- first list: from starting the app (headless, `App.run_test`) until the first frame drawn
  with every VM in the table, best of three fresh processes (each pays Textual's first-run
  costs, as a user's start does); beside it the best of three `kubectl get vm -A` against
  the same server (when kubectl exists), from its start until it has printed the last
  line. The app-start figure leaves out what a Python program pays before it runs: the
  same three processes also report the time from their own start (interpreter, imports of
  textual and kubernetes, connection) to that frame;
- filter: median and p95 from a key typed in the `/` filter line to the frame that shows
  the filtered table (the app's `_display` is timed, so it includes Textual's frame pacing),
  and the same for the work alone (filter + order + redraw of the visible lines);
- burst lag: the server changes VMs at 1,000 per second for a few seconds (simulator
  paused, so every change is one watch event); each change carries its creation time, and
  its lag is from then until the first frame after the screen applied it (its row on
  screen) or until it was applied (its row off screen: no frame has anything to show):
  median, p95 and max over every change, how many were seen, and the garbage
  collector's passes meanwhile;
- peak RSS of this process (resource.getrusage): the UI alone, because the demo server
  runs in a child process (`--serve`), as a real API server would; in one process its
  JSON encoding would also compete with the UI for the GIL and distort every time.

Beside each wall-clock figure the CPU time of the UI process is printed (process_time):
on a loaded machine the wall clock mostly measures waiting for a CPU, the CPU time is
what kvtui itself spends (the load average is printed with each size).

Targets (issue 3): first list <= 1.5x kubectl; filter <= 16 ms median at 10,000;
RSS <= 300 MB; burst lag <= 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import os
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


def fill(demo: Any, start: int, stop: int) -> None:
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


STAMP = "kvtui.bench/created"  # the change's creation time (CLOCK_MONOTONIC, system-wide)


def _change(store: Any, namespace: str, name: str, cores: int, stamp: str) -> None:
    """One real change of one VM (its vCPU count), stamped with when it was made.

    A write as an API server stores it: a new object (the stored dict is never edited in
    place), the next resourceVersion, a MODIFIED event to every watcher. It skips the demo
    store's read-modify-write path (admission, six deep copies, ~1 ms in Python), which
    alone could not produce 1,000 changes per second; a real API server can.
    """
    bucket = store.objects[VMS.key]
    old = bucket[(namespace, name)]
    meta = dict(old["metadata"])
    meta["annotations"] = {**(meta.get("annotations") or {}), STAMP: stamp}
    spec = copy.deepcopy(old["spec"])
    spec["template"]["spec"]["domain"]["cpu"] = {"cores": cores}
    meta["resourceVersion"] = str(store._bump())  # noqa: SLF001 - the store's own clock
    new = {**old, "metadata": meta, "spec": spec}
    bucket[(namespace, name)] = new
    store._emit(VMS, "MODIFIED", new)  # noqa: SLF001 - as every store write ends


def burst(demo: Any, seconds: float, existing: int, rate: int = 1000) -> str:
    """Change VMs at `rate` per second (rate/100 every 10 ms) for `seconds`.

    The simulator is paused meanwhile (`resume` restarts it once the UI has seen every
    change): it would answer every change with a status write of its own (doubling the
    events) and compete with the changes for the server's loop. Replies with how many
    changes were made and the rate achieved.
    """
    assert demo.simulator is not None and demo._loop is not None  # noqa: SLF001
    asyncio.run_coroutine_threadsafe(demo.simulator.stop(), demo._loop).result(10)  # noqa: SLF001
    names = [vm_manifest(i)["metadata"] for i in range(existing)]
    count = int(rate * seconds)
    step = max(1, rate // 100)
    begin = time.monotonic()
    for batch in range(0, count, step):
        chunk = [names[(batch + i) % len(names)] for i in range(step)]
        # Each pass over the VMs sets another vCPU count, so every change is a real one.
        cores = 5 + (batch // len(names)) % 4

        def run(store: Any, chunk: list[dict[str, Any]] = chunk, cores: int = cores) -> None:
            for m in chunk:
                _change(store, m["namespace"], m["name"], cores, f"{time.monotonic():.6f}")

        demo.call(run, timeout=60)
        delay = begin + (batch + step) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    sent = time.monotonic()
    return f"{count} {count / (sent - begin):.0f}"


def resume(demo: Any) -> None:
    """Restart the simulator after a burst (it reconciles every VM: a storm of its own)."""
    assert demo.simulator is not None and demo._loop is not None  # noqa: SLF001
    asyncio.run_coroutine_threadsafe(demo.simulator.start(), demo._loop).result(10)  # noqa: SLF001


def serve(kubeconfig: Path) -> None:
    """The child process: a demo cluster that fills itself and sends bursts on command."""
    from tui.demo.runtime import DemoCluster

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
            # A real API server has no Python collector: keep this one's full passes (a
            # few hundred ms with 10,000 VMs stored) from stalling the watch streams.
            gc.collect()
            gc.freeze()
            print("ok", flush=True)
        elif words[0] == "burst":
            print(burst(demo, float(words[1]), int(words[2])), flush=True)
        elif words[0] == "resume":
            resume(demo)
            print("ok", flush=True)
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


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def first_list(kubeconfig: Path, expected: int) -> tuple[float, float]:
    """Start the app, stop at the first frame that shows every VM: (seconds, CPU seconds)."""
    from screens.vm_list import VmListScreen
    from tui.app import KvtuiApp
    from widgets.resource_table import ResourceTable

    connection = Connection.from_kubeconfig(str(kubeconfig), None)
    app = KvtuiApp(connection, Settings(namespace=None), kubevirt_version=None)
    original_display = app._display  # noqa: SLF001 - the one place a frame is written
    full: list[tuple[float, float]] = []

    def display(*args: Any, **kwargs: Any) -> Any:
        result = original_display(*args, **kwargs)
        screen = app.screen
        if not full and isinstance(screen, VmListScreen):
            if screen.query_one(ResourceTable).total_count >= expected:
                full.append((time.perf_counter(), time.process_time()))
        return result

    app._display = display  # type: ignore[method-assign]  # noqa: SLF001
    start, start_cpu = time.perf_counter(), time.process_time()
    async with app.run_test(size=(160, 48)):
        while not full:
            await asyncio.sleep(0.002)
    connection.close()
    return full[0][0] - start, full[0][1] - start_cpu


def first_list_runs(kubeconfig: Path, expected: int, runs: int = 3) -> dict[str, float]:
    """`first_list` in `runs` fresh processes: the best of each figure."""
    best: dict[str, float] = {}
    for _ in range(max(1, runs)):
        began = time.monotonic()
        out = subprocess.run(
            [sys.executable, __file__, "--first-list", str(kubeconfig), str(expected)],
            capture_output=True,
            text=True,
            check=True,
        )
        app_s, cpu_s, frame_at = (float(x) for x in out.stdout.split())
        for key, value in (("app", app_s), ("cpu", cpu_s), ("process", frame_at - began)):
            best[key] = min(best.get(key, value), value)
    return best


async def measure_app(server: Server, kubeconfig: Path, expected: int, burst: float) -> dict:
    """Start kvtui on the demo, time the first list, the filter and a burst of changes."""
    from screens.vm_list import FilterInput, VmListScreen
    from tui.app import KvtuiApp
    from widgets.resource_table import ResourceTable

    connection = Connection.from_kubeconfig(str(kubeconfig), None)
    app = KvtuiApp(connection, Settings(namespace=None), kubevirt_version=None)
    figures: dict[str, Any] = {}
    frames: list[float] = []
    frame_cpu: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        original_display = app._display  # noqa: SLF001 - the one place a frame is written

        def display(*args: Any, **kwargs: Any) -> Any:
            frames.append(time.perf_counter())
            frame_cpu.append(time.process_time())
            return original_display(*args, **kwargs)

        app._display = display  # type: ignore[method-assign]  # noqa: SLF001

        def table() -> ResourceTable | None:
            screen = app.screen
            return screen.query_one(ResourceTable) if isinstance(screen, VmListScreen) else None

        while (t := table()) is None or t.total_count < expected:
            await asyncio.sleep(0.002)
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
        cpu: list[float] = []  # CPU time of this process from the key to the frame
        work: list[float] = []
        for text in ("bench-0", "bench-00", "bench-001", "!db", "tier", "-l tier=web", ""):
            field.value = ""
            await pilot.pause()
            for char in text:
                frames.clear()
                frame_cpu.clear()
                pressed, pressed_cpu = time.perf_counter(), time.process_time()
                await pilot.press(char if char != " " else "space")
                await pilot.pause()
                if frames:
                    latencies.append(frames[0] - pressed)
                    cpu.append(frame_cpu[0] - pressed_cpu)
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
        figures["filter_cpu_median"] = statistics.median(cpu)
        figures["filter_p95"] = percentile(latencies, 0.95)
        figures["filter_work_median"] = statistics.median(work)
        figures["filter_work_p95"] = percentile(work, 0.95)

        # ---- burst of watch events (made by the server process) ---------------------
        # Each change carries its creation time; the lag of a change is from then until
        # the UI shows it: the first frame after the screen applied it, when its row is on
        # screen; the moment it was applied to the table otherwise (nothing to draw, but
        # the filter, the counts and a scroll would already see it).
        burst_begin = time.monotonic()
        applied: list[float] = []
        seen: set[tuple[str, str]] = set()
        lags: list[float] = []
        original_apply = screen._apply  # noqa: SLF001

        def apply(keys: Any, *args: Any, **kwargs: Any) -> Any:
            keys = list(keys)
            result = original_apply(keys, *args, **kwargs)
            on_screen = set(t.window_keys())
            now = time.monotonic()
            for key in keys:
                vm = screen._vms.get(key) or {}  # noqa: SLF001
                stamp = ((vm.get("metadata") or {}).get("annotations") or {}).get(STAMP)
                # Only this burst's changes (a VM may still carry an earlier run's stamp).
                if stamp and float(stamp) >= burst_begin and (key[1], stamp) not in seen:
                    seen.add((key[1], stamp))
                    if screen._row_keys.get(key) in on_screen:  # noqa: SLF001
                        applied.append(float(stamp))
                    else:
                        lags.append(now - float(stamp))
            return result

        def display_burst(*args: Any, **kwargs: Any) -> Any:
            result = display(*args, **kwargs)
            now = time.monotonic()
            lags.extend(now - stamp for stamp in applied)
            applied.clear()
            return result

        screen._apply = apply  # type: ignore[method-assign]  # noqa: SLF001
        app._display = display_burst  # type: ignore[method-assign]  # noqa: SLF001
        loop = asyncio.get_running_loop()
        burst_cpu = time.process_time()
        # The cyclic collector's passes meanwhile: each one stops every thread.
        collections: list[tuple[int, float]] = []
        collecting = [0.0]

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                collecting[0] = time.perf_counter()
            else:
                collections.append((info["generation"], time.perf_counter() - collecting[0]))

        gc.callbacks.append(on_gc)
        reply = await loop.run_in_executor(None, server.command, f"burst {burst} {expected}")
        count, rate = (int(x) for x in reply.split())
        deadline = time.monotonic() + 60
        while len(lags) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        gc.callbacks.remove(on_gc)
        full_passes = [seconds for generation, seconds in collections if generation == 2]
        figures["burst_gc"] = (
            f"{len(collections)} GC passes ({len(full_passes)} full, longest"
            f" {max((s for _, s in collections), default=0) * 1000:.0f} ms)"
        )
        # CPU time of this process (informer threads and UI) per change applied.
        figures["burst_cpu"] = (time.process_time() - burst_cpu) / max(1, len(lags))
        await loop.run_in_executor(None, server.command, "resume")
        figures["burst_count"] = count
        figures["burst_seen"] = len(lags)
        figures["burst_rate"] = rate
        figures["burst_median"] = statistics.median(lags) if lags else float("nan")
        figures["burst_p95"] = percentile(lags, 0.95) if lags else float("nan")
        figures["burst_max"] = max(lags) if lags else float("nan")
    connection.close()
    figures["rss"] = rss_mb()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--burst-seconds", type=float, default=3.0)
    parser.add_argument("--first-list-runs", type=int, default=3, metavar="N")
    parser.add_argument("--serve", metavar="KUBECONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--first-list", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return
    if args.first_list:
        seconds, cpu = asyncio.run(first_list(Path(args.first_list[0]), int(args.first_list[1])))
        print(f"{seconds:.6f} {cpu:.6f} {time.monotonic():.6f}", flush=True)
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
            first = first_list_runs(kubeconfig, size, args.first_list_runs)
            figures = asyncio.run(measure_app(server, kubeconfig, size, args.burst_seconds))
            ratio = f" ({first['app'] / kubectl:.2f}x)" if kubectl else ""
            kubectl_text = f"kubectl {kubectl:.2f} s" if kubectl else "kubectl n/a"
            ratio_process = f" ({first['process'] / kubectl:.2f}x)" if kubectl else ""
            ms = {k: v * 1000 for k, v in figures.items() if isinstance(v, float)}
            print(
                f"{size:>6} VMs (load average {load_average()}):\n"
                f"  first list     {first['app']:.2f} s vs {kubectl_text}{ratio}"
                f" (UI process CPU {first['cpu']:.2f} s); from the process's own start"
                f" {first['process']:.2f} s{ratio_process}\n"
                f"  filter         key->frame median {ms['filter_median']:.1f} ms"
                f" p95 {ms['filter_p95']:.1f} ms"
                f" (work alone median {ms['filter_work_median']:.1f} ms"
                f" p95 {ms['filter_work_p95']:.1f} ms; CPU key->frame median"
                f" {ms['filter_cpu_median']:.1f} ms)\n"
                f"  burst lag      median {ms['burst_median']:.0f} ms p95 {ms['burst_p95']:.0f} ms"
                f" max {ms['burst_max']:.0f} ms ({figures['burst_seen']}/{figures['burst_count']}"
                f" changes seen, made at {figures['burst_rate']}/s;"
                f" UI process CPU {figures['burst_cpu'] * 1e6:.0f} us a change;"
                f" {figures['burst_gc']})\n"
                f"  peak RSS       {figures['rss']:.0f} MB (UI process)",
                flush=True,
            )
    finally:
        server.close()


if __name__ == "__main__":
    main()
