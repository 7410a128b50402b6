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
    args = parser.parse_args(argv)

    demo = DemoCluster(port=args.port, time_scale=args.time_scale, seed_data=not args.no_seed)
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
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
