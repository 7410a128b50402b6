"""`kvtui node` at scale: what one statistics refresh costs for N domains, and the list redraw.

    .venv/bin/python benchmarks/node_stats.py [--sizes 10,100,500] [--rounds 5]

For each size it writes a test-driver node file with N KubeVirt-style domains (two disks, one
NIC each), then prints one line:

- list: the first `listAllDomains` + XML parse of every domain (what a new source does);
- refresh: median and max of `Source._refresh` over `--rounds` rounds — the bulk
  `getAllDomainStats` call plus, because the test driver's bulk stats hold only the state,
  the per-domain fallback (`info`, `blockStats`, `interfaceStats`: 1 + disks + NICs calls per
  domain). A real QEMU daemon answers everything in the one bulk call, so this is the upper
  bound of the Python side;
- bulk only: `getAllDomainStats` alone (what a QEMU daemon costs us, minus its own work);
- rows: building the DomainRow snapshots the UI reads;
- ui: `NodeListScreen.refresh_from_model` (cells, upserts, title) in a headless app, median.

Figures go to stdout; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.libvirt_loop import ensure_event_loop, libvirt_module, quiet_errors  # noqa: E402
from tui.node.model import NodeModel, Source  # noqa: E402

DOMAIN = """  <domain type='test'>
    <name>ns{n:03d}_vm-{i:05d}</name>
    <uuid>{uuid}</uuid>
    <memory unit='MiB'>1024</memory>
    <vcpu>2</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <metadata><kubevirt xmlns="http://kubevirt.io"><uid>{uid}</uid></kubevirt></metadata>
    <devices>
      <disk type='file' device='disk'><source file='/d/{i}.img'/><target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='disk'><source file='/d/{i}.iso'/><target dev='vdb' bus='virtio'/></disk>
      <interface type='ethernet'><mac address='02:00:00:{a:02x}:{b:02x}:{c:02x}'/><target dev='tap{i}'/></interface>
      <serial type='unix'><source mode='bind' path='/var/run/kubevirt-private/{uid}/virt-serial0'/><target port='0'/></serial>
    </devices>
  </domain>
"""


def node_file(folder: Path, size: int) -> Path:
    parts = ["<node>\n"]
    for i in range(size):
        parts.append(
            DOMAIN.format(
                n=i % 20,
                i=i,
                uuid=f"00000000-0000-4000-8000-{i:012d}",
                uid=f"11111111-0000-4000-8000-{i:012d}",
                a=(i >> 16) & 255,
                b=(i >> 8) & 255,
                c=i & 255,
            )
        )
    parts.append("</node>\n")
    path = folder / f"node-{size}.xml"
    path.write_text("".join(parts))
    return path


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def bench_source(uri: str, rounds: int) -> tuple[float, list[float], list[float], float]:
    libvirt = libvirt_module()
    source = Source(uri)
    source._connect(libvirt)  # noqa: SLF001 - timing the source's own steps, no thread
    started = time.perf_counter()
    source._list(libvirt)  # noqa: SLF001
    listed = time.perf_counter() - started
    refreshes = []
    bulk = []
    for _ in range(rounds):
        started = time.perf_counter()
        source._refresh(libvirt)  # noqa: SLF001
        refreshes.append(time.perf_counter() - started)
        started = time.perf_counter()
        source.connection.getAllDomainStats(0, 0)
        bulk.append(time.perf_counter() - started)
        time.sleep(0.05)
    source.state = source.state.CONNECTED
    started = time.perf_counter()
    source.rows()
    rows = time.perf_counter() - started
    source.stop()
    return listed, refreshes, bulk, rows


async def bench_ui(uri: str, size: int, rounds: int) -> float:
    from screens.node_app import NodeApp
    from screens.node_list import NodeListScreen

    model = NodeModel([uri], interval=60)
    app = NodeApp(model)
    times = []
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(400):
            if len(model.rows()) == size:
                break
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, NodeListScreen)
        for _ in range(rounds):
            started = time.perf_counter()
            screen.refresh_from_model()
            times.append(time.perf_counter() - started)
            await pilot.pause(0.05)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,500")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ensure_event_loop()
    quiet_errors()
    with tempfile.TemporaryDirectory(prefix="kvtui-node-bench-") as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            uri = f"test://{node_file(Path(folder), size)}"
            listed, refreshes, bulk, rows = bench_source(uri, args.rounds)
            ui = asyncio.run(bench_ui(uri, size, args.rounds))
            print(
                f"{size:5d} domains: list {ms(listed)}; refresh median "
                f"{ms(statistics.median(refreshes))} max {ms(max(refreshes))} "
                f"({ms(statistics.median(refreshes) / size)}/domain, test-driver fallback); "
                f"bulk getAllDomainStats {ms(statistics.median(bulk))}; "
                f"rows {ms(rows)}; ui refresh {ms(ui)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
