"""Console throughput: stock pyte vs kvtui's emulator + Terminal widget, on the same bytes.

    python benchmarks/console_throughput.py [--mb 1.0] [--size 200x50]

For three generated streams — a boot log, colour-heavy output, a full-screen redraw loop
(top-like, in the alternate screen) — it prints:

- stock `pyte.Screen` + `ByteStream` feed rate (MB/s), dirty rows cleared per 4 KB chunk;
- stock `pyte.HistoryScreen(history=10_000)` feed rate;
- kvtui's parse-only rate (`tui.console.emulator.Emulator`, 10,000 lines of scrollback);
- kvtui end to end: the bytes fed to a `Terminal` widget in a headless Textual app, as a
  transport delivers them (4 KB chunks from a reader thread via `call_soon_threadsafe`), until
  the last byte is parsed and the final frame painted. "Lines" are Strips built by the widget,
  "redraws" the widget's refresh flushes, "paints" the compositor's renders of the widget.

Target (issue 4): end to end ≥ 2× stock HistoryScreen and ≥ 0.8× stock Screen, at ≤ 60
redraws/s. The script exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import threading
import time
from pathlib import Path

import pyte

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App, ComposeResult  # noqa: E402
from textual.strip import Strip  # noqa: E402

from tui.console.emulator import Emulator  # noqa: E402
from widgets.terminal import Terminal  # noqa: E402

CHUNK = 4096
SCROLLBACK = 10_000

# --- data ---------------------------------------------------------------------------------

UNITS = (
    "systemd-journald.service systemd-udevd.service cloud-init.service ssh.service "
    "NetworkManager.service kubelet.service containerd.service chronyd.service "
    "qemu-guest-agent.service getty@ttyS0.service serial-getty@ttyS0.service"
).split()
KERNEL = (
    "virtio_net virtio0 eth0: link up",
    "EXT4-fs (vda1): mounted filesystem with ordered data mode",
    "random: crng init done",
    "audit: type=1400 audit(1700000000.123:42): apparmor=STATUS",
    "pci 0000:00:02.0: [1af4:1000] type 00 class 0x020000",
    "Freeing unused kernel image (initmem) memory: 2664K",
)


def boot_log(size: int, seed: int = 1) -> bytes:
    """A serial console during boot: kernel lines, then systemd's coloured [  OK  ]."""
    rnd = random.Random(seed)
    out = bytearray()
    t = 0.0
    while len(out) < size:
        t += rnd.random() / 20
        if rnd.random() < 0.4:
            out += f"[{t:12.6f}] {rnd.choice(KERNEL)}\r\n".encode()
        else:
            unit = rnd.choice(UNITS)
            if rnd.random() < 0.05:
                out += f"[\x1b[0;1;31mFAILED\x1b[0m] Failed to start {unit}.\r\n".encode()
            else:
                verb = rnd.choice(("Started", "Reached target", "Mounted", "Finished"))
                out += f"[\x1b[0;32m  OK  \x1b[0m] {verb} \x1b[0;1;39m{unit}\x1b[0m.\r\n".encode()
    return bytes(out[:size])


def colour_heavy(size: int, seed: int = 2) -> bytes:
    """Every word styled: 16, 256 and truecolour, bold/italic/underline/reverse."""
    rnd = random.Random(seed)
    words = "the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet".split()
    sgr = [b"1", b"3", b"4", b"7", b"31", b"32;1", b"93", b"44", b"38;5;208", b"48;5;236",
           b"38;2;255;128;0", b"38;2;%d;%d;%d", b"0"]  # fmt: skip
    out = bytearray()
    while len(out) < size:
        line = bytearray()
        for _ in range(rnd.randint(6, 16)):
            code = rnd.choice(sgr)
            if b"%d" in code:
                code = code % (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
            line += b"\x1b[" + code + b"m" + rnd.choice(words).encode() + b"\x1b[0m "
        out += bytes(line) + b"\r\n"
    return bytes(out[:size])


def fullscreen_loop(size: int, columns: int, lines: int, seed: int = 3) -> bytes:
    """A top-like program: alternate screen, then whole-screen repaints row by row."""
    rnd = random.Random(seed)
    out = bytearray(b"\x1b[?1049h\x1b[?25l")
    frame = 0
    while len(out) < size:
        frame += 1
        out += b"\x1b[H\x1b[7m" + f" frame {frame:6d}  load {rnd.random() * 4:4.2f} ".encode()
        out += b"\x1b[K\x1b[0m"
        for row in range(2, lines + 1):
            pid = rnd.randint(1, 99999)
            cpu = rnd.random() * 100
            colour = b"\x1b[31m" if cpu > 80 else b"\x1b[32m" if cpu < 20 else b"\x1b[39m"
            text = f"{pid:7d} root      20   0 {rnd.randint(1, 999999):9d} {cpu:5.1f} qemu-kvm"
            out += f"\x1b[{row};1H".encode() + colour + text[: columns - 1].encode()
            out += b"\x1b[0m\x1b[K"
    out += b"\x1b[?25h\x1b[?1049l"
    return bytes(out)


# --- stock pyte ---------------------------------------------------------------------------


def stock_rate(screen: pyte.Screen, data: bytes) -> float:
    stream = pyte.ByteStream(screen)
    started = time.perf_counter()
    for offset in range(0, len(data), CHUNK):
        stream.feed(data[offset : offset + CHUNK])
        screen.dirty.clear()  # a consumer reads and clears the dirty rows each chunk
    return len(data) / (time.perf_counter() - started) / 1e6


def kvtui_parse_rate(columns: int, lines: int, data: bytes) -> float:
    emulator = Emulator(columns, lines, scrollback=SCROLLBACK)
    started = time.perf_counter()
    for offset in range(0, len(data), CHUNK):
        emulator.feed(data[offset : offset + CHUNK])
        emulator.take_dirty()
    return len(data) / (time.perf_counter() - started) / 1e6


# --- kvtui end to end ---------------------------------------------------------------------


class CountingTerminal(Terminal):
    """Counts the compositor's renders of the widget (paints)."""

    paints = 0

    def render_lines(self, crop):  # type: ignore[no-untyped-def]
        self.paints += 1
        return super().render_lines(crop)


class BenchApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CountingTerminal(scrollback=SCROLLBACK)


async def end_to_end(columns: int, lines: int, data: bytes) -> dict[str, float]:
    app = BenchApp()
    async with app.run_test(size=(columns, lines), headless=True) as pilot:
        terminal = app.query_one(CountingTerminal)
        await pilot.pause(0.2)
        assert terminal.size_in_cells == (columns, lines), terminal.size_in_cells
        loop = asyncio.get_running_loop()
        done = threading.Event()

        def reader() -> None:  # what a transport's thread does
            for offset in range(0, len(data), CHUNK):
                loop.call_soon_threadsafe(terminal.feed, data[offset : offset + CHUNK])
            loop.call_soon_threadsafe(done.set)

        redraws, paints, rendered = terminal.redraws, terminal.paints, terminal.lines_rendered
        started = time.perf_counter()
        threading.Thread(target=reader, daemon=True).start()
        while not done.is_set() or terminal._pending or terminal._draining:  # noqa: SLF001
            await asyncio.sleep(0.005)
        await pilot.pause()  # the final flush and paint
        elapsed = time.perf_counter() - started
        assert terminal.emulator.bytes_fed >= len(data)
        return {
            "mbps": len(data) / elapsed / 1e6,
            "redraws_per_s": (terminal.redraws - redraws) / elapsed,
            "paints_per_s": (terminal.paints - paints) / elapsed,
            "lines": terminal.lines_rendered - rendered,
            "seconds": elapsed,
        }


def frame_cost(columns: int, lines: int) -> float:
    """Milliseconds to build one full screen of Strips (no compositor)."""
    terminal = Terminal()
    terminal.emulator.resize(columns, lines)
    terminal.emulator.feed(colour_heavy(columns * lines * 4))
    started = time.perf_counter()
    for _ in range(20):
        for y in range(lines):
            from widgets.terminal import row_strip

            strip: Strip = row_strip(terminal.emulator.row(y, with_cursor=True), columns, _BASE)
            assert strip.cell_length == columns
    return (time.perf_counter() - started) / 20 * 1000


_BASE = __import__("rich.style", fromlist=["Style"]).Style(color="#e0e0e0", bgcolor="#1e1e1e")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=1.0, help="MB of data per stream")
    parser.add_argument("--size", default="200x50", help="screen COLUMNSxLINES")
    args = parser.parse_args()
    columns, lines = (int(v) for v in args.size.split("x"))
    size = int(args.mb * 1_000_000)
    streams = {
        "boot log": boot_log(size),
        "colour-heavy": colour_heavy(size),
        "full-screen loop": fullscreen_loop(size, columns, lines),
    }
    print(
        f"python {sys.version.split()[0]}, pyte {pyte_version()}, screen {columns}x{lines}, "
        f"{args.mb:g} MB per stream, {CHUNK} B chunks, scrollback {SCROLLBACK}"
    )
    print(f"one full screen of Strips: {frame_cost(columns, lines):.2f} ms")
    header = (
        f"{'stream':17} {'Screen':>7} {'History':>8} {'kv parse':>9} {'kv e2e':>7} "
        f"{'e2e/Scr':>8} {'e2e/Hist':>9} {'redraws/s':>10} {'paints/s':>9} {'lines':>7}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for name, data in streams.items():
        screen = stock_rate(pyte.Screen(columns, lines), data)
        history = stock_rate(pyte.HistoryScreen(columns, lines, history=SCROLLBACK), data)
        parse = kvtui_parse_rate(columns, lines, data)
        e2e = asyncio.run(end_to_end(columns, lines, data))
        vs_screen, vs_history = e2e["mbps"] / screen, e2e["mbps"] / history
        print(
            f"{name:17} {screen:7.2f} {history:8.2f} {parse:9.2f} {e2e['mbps']:7.2f} "
            f"{vs_screen:7.2f}x {vs_history:8.2f}x {e2e['redraws_per_s']:10.1f} "
            f"{e2e['paints_per_s']:9.1f} {e2e['lines']:7.0f}"
        )
        ok &= vs_screen >= 0.8 and vs_history >= 2 and e2e["redraws_per_s"] <= 60
    print("(MB/s; target: e2e >= 0.8x Screen and >= 2x HistoryScreen at <= 60 redraws/s)")
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


def pyte_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("pyte")


if __name__ == "__main__":
    raise SystemExit(main())
