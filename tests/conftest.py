"""Shared fixtures: the demo cluster over real HTTP, and clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from kubernetes import client
from kvtest import TEST_TIME_SCALE, api_client_for

if TYPE_CHECKING:
    # Imported lazily so unit tests never depend on the demo cluster importing.
    from tui.demo.runtime import DemoCluster


@pytest.fixture(scope="session")
def demo() -> Iterator[DemoCluster]:
    """The seeded demo cluster shared by the session (treat seeded objects as read-only)."""
    from tui.demo.runtime import DemoCluster

    cluster = DemoCluster(time_scale=TEST_TIME_SCALE).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def fresh_demo() -> Iterator[DemoCluster]:
    """A demo cluster of one's own: namespaces, nodes and storage classes only."""
    from tui.demo.runtime import DemoCluster

    cluster = DemoCluster(
        time_scale=TEST_TIME_SCALE, seed_data=False, bookmark_interval=0.2
    ).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def kubeconfig(demo: DemoCluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture
def api(demo: DemoCluster) -> Iterator[client.ApiClient]:
    with api_client_for(demo) as c:
        yield c


@pytest.fixture
def fresh_api(fresh_demo: DemoCluster) -> Iterator[client.ApiClient]:
    with api_client_for(fresh_demo) as c:
        yield c
