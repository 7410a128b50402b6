"""tui.cluster.discovery: what it asks, how it reads the answers, what it caches."""

from __future__ import annotations

import json
from typing import Any

from tui.cluster import discovery
from tui.cluster.connection import HttpResponse


class Server:
    """Answers like an API server would, from a table; records the requests."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, Any]] = []

    def request(self, method: str, path: str, *, query: Any = None, **_: Any) -> HttpResponse:
        self.asked.append((path, query))
        answer = self.answers.get(path)
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            raise RuntimeError("404")
        return HttpResponse(200, {}, json.dumps(answer).encode())


TEMPLATE_GV = {
    "kind": "APIResourceList",
    "resources": [{"name": "templates"}, {"name": "processedtemplates"}],
}


def test_serves_reads_discovery_and_caches_it() -> None:
    server = Server({"/apis/template.openshift.io/v1": TEMPLATE_GV})
    assert discovery.serves(server, "template.openshift.io/v1", "processedtemplates")
    assert not discovery.serves(server, "template.openshift.io/v1", "brokentemplates")
    assert len(server.asked) == 1


def test_no_answer_means_no_and_is_asked_again() -> None:
    server = Server({})
    assert not discovery.serves(server, "template.openshift.io/v1", "processedtemplates")
    assert not discovery.serves(server, "template.openshift.io/v1", "processedtemplates")
    assert len(server.asked) == 2
    core = Server({"/api/v1": {"resources": [{"name": "pods"}]}})
    assert discovery.serves(core, "v1", "pods")


def test_openapi_document_follows_the_index() -> None:
    doc = {"openapi": "3.0.0", "components": {"schemas": {"x": {}}}}
    server = Server(
        {
            "/openapi/v3": {
                "paths": {
                    "apis/kubevirt.io/v1": {
                        "serverRelativeURL": "/openapi/v3/apis/kubevirt.io/v1?hash=AB12"
                    }
                }
            },
            "/openapi/v3/apis/kubevirt.io/v1": doc,
        }
    )
    assert discovery.openapi_document(server, "apis/kubevirt.io/v1") == doc
    assert server.asked[-1] == ("/openapi/v3/apis/kubevirt.io/v1", {"hash": "AB12"})
    assert discovery.openapi_document(server, "apis/kubevirt.io/v1") == doc
    assert len(server.asked) == 2  # cached
    assert discovery.openapi_document(server, "apis/nothing/v1") is None
