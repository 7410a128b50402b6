"""Run the demo cluster alone: `python -m tui.demo --port N --kubeconfig PATH`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from tui.demo.runtime import CONTEXT, VIEWER_CONTEXT, DemoCluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tui.demo",
        description="Run kvtui's demo Kubernetes API server (with simulated KubeVirt) until interrupted.",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)"
    )
    parser.add_argument("--kubeconfig", required=True, help="where to write a kubeconfig for it")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply the simulated controllers' delays (0.1 = ten times faster)",
    )
    parser.add_argument(
        "--no-seed", action="store_true", help="start empty but for namespaces and nodes"
    )
    parser.add_argument(
        "--real-guests",
        nargs="?",
        type=int,
        const=2,
        default=None,
        metavar="N",
        help="back up to N running VMs (default 2) with real tiny QEMU guests when libvirtd, "
        "qemu-system-x86_64, busybox-static and a guest kernel are present "
        "(python3 -m tui.demo.guest_image --fetch gets the kernel)",
    )
    args = parser.parse_args(argv)

    demo = DemoCluster(
        port=args.port,
        time_scale=args.time_scale,
        seed_data=not args.no_seed,
        real_guests=True if args.real_guests else None,
        real_guest_limit=args.real_guests,
    )
    try:
        demo.start()
    except OSError as exc:
        print(
            f"kvtui demo: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr
        )
        return 1
    path = demo.write_kubeconfig(args.kubeconfig)
    print(f"kvtui demo cluster at {demo.url}", flush=True)
    print(f"kubeconfig: {path} (contexts {CONTEXT}, {VIEWER_CONTEXT})", flush=True)
    print(f"try: kubectl --kubeconfig {path} get vm -A", flush=True)
    if demo.real_guests is not None:
        print(f"real guests: up to {demo.real_guest_limit} running VMs boot a real QEMU guest")
    elif demo.real_guests_wanted:
        print(f"real guests unavailable: {demo.real_guests_reason}", file=sys.stderr)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
