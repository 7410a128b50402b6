"""What the cluster offers, asked once per connection: API resources and OpenAPI v3 documents.

- `serves(connection, "template.openshift.io/v1", "processedtemplates")`: whether the
  group-version lists that resource (discovery, `GET /apis/{group}/{version}`). kvtui
  processes templates on the server when it can and locally when it cannot.
- `openapi_document(connection, "apis/kubevirt.io/v1")`: the OpenAPI v3 document of one
  group-version (`GET /openapi/v3`, then the `serverRelativeURL` it lists), or None when the
  server has none. Real API servers publish every CRD's schema there; the YAML editor
  compares a manifest's fields with it.

Answers are cached on the connection object (they change only when CRDs are installed);
failures are not cached, and never raise: discovery is advice, the request itself decides.
Blocking: call from worker threads.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

_LOCK = threading.Lock()
_CACHE_ATTR = "_kvtui_discovery_cache"


def _cache(connection: Any) -> dict[tuple[str, str], Any]:
    with _LOCK:
        cache = getattr(connection, _CACHE_ATTR, None)
        if cache is None:
            cache = {}
            try:
                setattr(connection, _CACHE_ATTR, cache)
            except AttributeError:  # a connection that takes no attributes: no cache
                pass
        return cache


def _get_json(connection: Any, path: str, query: dict[str, str] | None = None) -> Any:
    try:
        return connection.request("GET", path, query=query).json()
    except Exception:  # noqa: BLE001 - advice only: any failure means "don't know"
        return None


def resources(connection: Any, group_version: str) -> list[str] | None:
    """The resource names (with subresources, `virtualmachines/status`) a group-version
    serves, or None when discovery did not answer."""
    key = ("resources", group_version)
    cache = _cache(connection)
    if key in cache:
        return cache[key]
    path = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
    answer = _get_json(connection, path)
    if not isinstance(answer, dict):
        return None
    names = [
        str(r.get("name"))
        for r in answer.get("resources") or []
        if isinstance(r, dict) and r.get("name")
    ]
    cache[key] = names
    return names


def serves(connection: Any, group_version: str, resource: str) -> bool:
    """True when discovery lists `resource` in `group_version`."""
    names = resources(connection, group_version)
    return bool(names) and resource in names


def openapi_document(connection: Any, group_version_path: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document for `apis/kubevirt.io/v1` (or `api/v1`), None if absent."""
    key = ("openapi", group_version_path)
    cache = _cache(connection)
    if key in cache:
        return cache[key]
    index = _get_json(connection, "/openapi/v3")
    paths = index.get("paths") if isinstance(index, dict) else None
    entry = paths.get(group_version_path) if isinstance(paths, dict) else None
    url = entry.get("serverRelativeURL") if isinstance(entry, dict) else None
    if not isinstance(url, str) or not url.startswith("/"):
        return None
    parts = urlsplit(url)
    document = _get_json(connection, parts.path, dict(parse_qsl(parts.query)) or None)
    if not isinstance(document, dict):
        return None
    cache[key] = document
    return document
