"""Two fake KubeVirt virt-launchers with a real TCG guest each, for the `kvtui node` end-to-end
tests (root only; see tests/launchers.py). Outside CI they skip with the reason; in CI a
missing piece fails (`kvtest.skip_unless`)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from kvtest import skip_unless
from launchers import Launcher, LauncherError, environment_problem

if TYPE_CHECKING:
    from tui.demo.guest_image import GuestImage

# (namespace, VM name, daemon uid) of each launcher: the domains are `<namespace>_<vm>`. The
# first is a root launcher (qemu:///system), the second a non-root one as KubeVirt runs them
# by default (uid 107, qemu:///session).
LAUNCHERS = (("default", "vm-alpha", None), ("team-b", "vm-beta", 107))

# Launcher start, define -> prompt and teardown seconds; printed at teardown when
# KVTUI_E2E_FIGURES is set (with -s). benchmarks/node_launchers.py measures more.
FIGURES: dict[str, float] = {}


@pytest.fixture(scope="module")
def guest_image() -> GuestImage:
    problem = environment_problem()
    skip_unless(problem is None, str(problem))
    from tui.demo.guest_image import find_guest

    image = find_guest()
    skip_unless(bool(image), f"the tiny guest cannot run here: {image}")
    assert image  # for the type checker: skip_unless did not return otherwise
    return image


@pytest.fixture
def launchers(_launchers: list[Launcher], guest_image: GuestImage) -> list[Launcher]:
    """Two launchers, one booted KubeVirt-layout guest each (banner and prompt seen in the
    serial log), shared by the module. A test may kill one (the next test that asks gets it
    back, rebooted); tests must leave the serial sockets free (QEMU serves one client)."""
    for launcher in _launchers:
        if not launcher.alive():
            launcher.restart(guest_image)
    return _launchers


@pytest.fixture(scope="module")
def launcher_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the module's launchers keep their state (and share QEMU's capability cache)."""
    return tmp_path_factory.mktemp("launchers")


@pytest.fixture(scope="module")
def _launchers(guest_image: GuestImage, launcher_base: Path) -> Iterator[list[Launcher]]:
    from tui.libvirt_loop import ensure_event_loop, quiet_errors

    ensure_event_loop()  # before any connection of this process, the fixture's included
    quiet_errors()
    base = launcher_base
    started: list[Launcher] = []
    try:
        for namespace, vm, user in LAUNCHERS:
            launcher = Launcher(base, namespace=namespace, vm=vm, user=user)
            started.append(launcher)
            launcher.start()
            FIGURES[f"launcher start {vm} (s)"] = launcher.started_in
        for launcher in started:
            launcher.define_guest(guest_image)
        for launcher in started:
            FIGURES[f"define to banner {launcher.vm} (s)"] = launcher.wait_for_banner()
        yield started
    finally:
        errors = []
        for launcher in started:
            t0 = time.monotonic()
            try:
                launcher.stop()
            except LauncherError as exc:
                errors.append(str(exc))
            FIGURES[f"teardown {launcher.vm} (s)"] = time.monotonic() - t0
        for launcher in started:
            # The /var/run trap: nothing of a launcher may appear in the host's /run.
            stray = f"/run/kubevirt-private/{launcher.vmi_uid}"
            if os.path.exists(stray):
                errors.append(f"{stray} leaked into the host's /run")
        if os.environ.get("KVTUI_E2E_FIGURES"):
            for key, value in FIGURES.items():
                print(f"{key}: {value:.2f}")
        if errors:
            pytest.fail("launcher teardown: " + "; ".join(errors))
