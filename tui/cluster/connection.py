"""Connecting to a cluster: kubeconfig or in-cluster config -> an API client and a transport.

`Connection` holds one kubernetes `ApiClient` for one context. The rest of `tui.cluster`
sends its requests through `send` / `open_stream` below, which use the client's own
request machinery (TLS settings, client certificates, token refresh of exec plugins) but
hand back plain bytes and dicts, never the client's models.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import urllib3
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import (
    SERVICE_CERT_FILENAME,
    SERVICE_HOST_ENV_NAME,
    SERVICE_TOKEN_FILENAME,
    InClusterConfigLoader,
)
from kubernetes.config.kube_config import (
    ENV_KUBECONFIG_PATH_SEPARATOR,
    KubeConfigLoader,
    KubeConfigMerger,
)

from tui.cluster.errors import ClusterError, from_api_exception, from_transport_error

__all__ = [
    "DEFAULT_TIMEOUT",
    "Connection",
    "HttpResponse",
    "open_stream",
    "parse_warnings",
    "send",
]

# (connect, read) seconds. Every request gets one: nothing under tui.cluster may hang.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
VERSION_TIMEOUT: tuple[float, float] = (3.0, 5.0)
DEFAULT_KUBECONFIG = os.path.join("~", ".kube", "config")
SERVICE_NAMESPACE_FILENAME = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
KUBEVIRT_VERSION_PATH = "/apis/subresources.kubevirt.io/v1/version"

Query = Mapping[str, Any] | Iterable[tuple[str, Any]] | None


@dataclass
class HttpResponse:
    """A complete (non-streamed) answer: status, headers and the raw body."""

    status: int
    headers: Mapping[str, str]
    data: bytes
    warnings: list[str] = field(default_factory=list)

    def json(self) -> Any:
        """The body as JSON, or None when it is empty (202/200 subresource answers)."""
        if not self.data or not self.data.strip():
            return None
        return json.loads(self.data)


# --------------------------------------------------------------------------- transport


def _query_pairs(query: Query) -> list[tuple[str, str]]:
    if not query:
        return []
    items = query.items() if isinstance(query, Mapping) else query
    out = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append((key, str(value)))
    return out


def _server(api_client: Any) -> str:
    return str(getattr(api_client.configuration, "host", "") or "")


def _raw_request(
    api_client: Any,
    method: str,
    path: str,
    *,
    query: Query = None,
    body: Any = None,
    content_type: str | None = None,
    accept: str = "application/json",
    timeout: float | tuple[float, float] | None = None,
) -> Any:
    """Send one request through the client and return the unread urllib3 response.

    Raises ApiException for a non-2xx answer (with status, body and headers) so every
    caller handles HTTP errors one way; transport failures propagate as urllib3/OS errors.
    """
    headers = {"Accept": accept}
    if body is not None or method in ("POST", "PUT", "PATCH"):
        headers["Content-Type"] = content_type or "application/json"
    pairs = _query_pairs(query)
    timeout = timeout or DEFAULT_TIMEOUT

    if hasattr(api_client, "param_serialize"):
        # kubernetes >= 36 (openapi-generator 6+): param_serialize applies auth (refreshing
        # exec-plugin tokens through the configuration's hook), call_api sends without
        # reading the body and without raising on error statuses.
        method_, url, hdrs, body_, _post = api_client.param_serialize(
            method=method,
            resource_path=path,
            query_params=pairs,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        rest_response = api_client.call_api(method_, url, hdrs, body_, _request_timeout=timeout)
        response = rest_response.response
        if not 200 <= response.status <= 299:
            data = response.data  # reads and releases the connection
            exc = ApiException(status=response.status, reason=response.reason)
            exc.body = data
            exc.headers = response.headers
            raise exc
        return response

    # kubernetes <= 35 (the "legacy" generator): call_api takes the path and raises
    # ApiException for non-2xx itself; _preload_content=False returns the urllib3 response.
    return api_client.call_api(  # pragma: no cover - tested by hand with kubernetes 33.1
        path,
        method,
        query_params=pairs,
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
        _preload_content=False,
        _request_timeout=timeout,
    )


def parse_warnings(headers: Any) -> list[str]:
    """The texts of `Warning: 299 - "text"` response headers (RFC 7234 warn-text)."""
    if headers is None:
        return []
    values: list[str] = []
    if hasattr(headers, "getlist"):
        values = list(headers.getlist("Warning"))
    elif hasattr(headers, "get"):
        value = headers.get("Warning")
        values = [value] if value else []
    out = []
    for value in values:
        out.extend(_split_warning(value))
    return out


def _split_warning(value: str) -> list[str]:
    """Split one (possibly comma-joined) Warning header value into its texts."""
    out = []
    i, n = 0, len(value)
    while i < n:
        # code SP agent SP "text" [SP "date"]
        quote = value.find('"', i)
        if quote < 0:
            rest = value[i:].strip(" ,")
            if rest:
                out.append(rest)
            break
        j = quote + 1
        text = []
        while j < n and value[j] != '"':
            if value[j] == "\\" and j + 1 < n:
                j += 1
            text.append(value[j])
            j += 1
        out.append("".join(text))
        i = j + 1
        comma = value.find(",", i)
        # Skip an optional quoted date before the next warning.
        if comma < 0:
            break
        i = comma + 1
    return out


def send(
    api_client: Any,
    method: str,
    path: str,
    *,
    query: Query = None,
    body: Any = None,
    content_type: str | None = None,
    timeout: float | tuple[float, float] | None = None,
) -> HttpResponse:
    """Send a request and read the whole answer.

    Raises kubernetes ApiException for HTTP errors (callers add context with
    `from_api_exception`), ClusterError for transport failures.
    """
    try:
        response = _raw_request(
            api_client,
            method,
            path,
            query=query,
            body=body,
            content_type=content_type,
            timeout=timeout,
        )
        try:
            data = response.data
        finally:
            response.release_conn()
    except ApiException as exc:
        if not getattr(exc, "status", None):
            raise from_api_exception(exc, method.lower(), path, server=_server(api_client)) from exc
        raise
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise from_transport_error(exc, _server(api_client)) from exc
    headers = response.headers
    return HttpResponse(response.status, headers, data or b"", parse_warnings(headers))


def open_stream(
    api_client: Any,
    path: str,
    *,
    query: Query = None,
    timeout: float | tuple[float, float] | None = None,
) -> Any:
    """Start a streamed GET (a watch) and return the unread urllib3 response.

    The caller reads it (`read1`/`stream`) and must `close()` it.
    """
    try:
        return _raw_request(api_client, "GET", path, query=query, timeout=timeout)
    except ApiException as exc:
        if not getattr(exc, "status", None):
            raise from_api_exception(exc, "watch", path, server=_server(api_client)) from exc
        raise
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise from_transport_error(exc, _server(api_client)) from exc


# --------------------------------------------------------------------------- Connection


def _new_configuration() -> Any:
    # type.__call__ bypasses the metaclass of older clients that hands out a copy of the
    # process-wide default configuration; each Connection must own its settings.
    return type.__call__(k8s_client.Configuration)


def _kubeconfig_candidates(path: str | None) -> list[str]:
    spec = path or os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    return [os.path.expanduser(p) for p in spec.split(ENV_KUBECONFIG_PATH_SEPARATOR) if p]


def _named(items: Any, name: str) -> Any | None:
    for item in items or []:
        if item["name"] == name:
            return item
    return None


def _plain(node: Any) -> Any:
    """ConfigNode -> plain value (the merger wraps list items)."""
    return getattr(node, "value", node)


class Connection:
    """One cluster context: an ApiClient plus what the UI shows about it.

    Attributes: `api_client`, `context` (name), `server` (URL), `namespace` (the context's
    default namespace or "default"), `user`, `timeout` (default (connect, read) seconds).
    """

    def __init__(
        self,
        api_client: Any,
        *,
        context: str,
        server: str,
        namespace: str = "default",
        user: str | None = None,
        contexts: Iterable[str] = (),
        kubeconfig: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.api_client = api_client
        self.context = context
        self.server = server.rstrip("/")
        self.namespace = namespace or "default"
        self.user = user
        self.timeout = timeout
        self._contexts = list(contexts)
        # The kubeconfig spec (possibly several ':'-joined files) for switch().
        self._kubeconfig = kubeconfig

    def __repr__(self) -> str:
        return f"Connection(context={self.context!r}, server={self.server!r}, user={self.user!r})"

    # ---- construction

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, context: str | None = None) -> Connection:
        """Load a kubeconfig: `path`, else `$KUBECONFIG` (':'-separated files, merged the
        way kubectl merges them: first file wins per name), else ~/.kube/config."""
        candidates = _kubeconfig_candidates(path)
        existing = [p for p in candidates if os.path.isfile(p)]
        if not existing:
            raise ClusterError(
                "No kubeconfig found",
                f"looked in {', '.join(candidates)}",
                summary=f"no kubeconfig found (looked in {', '.join(candidates)})",
            )
        spec = ENV_KUBECONFIG_PATH_SEPARATOR.join(existing)
        try:
            merger = KubeConfigMerger(spec)
            config = merger.config
            if config is None:
                raise ConfigException("no configuration found")
            names = [str(_plain(c)["name"]) for c in config.value.get("contexts") or []]
            # kubectl: the first file that sets current-context wins (the client's merger
            # lets the last one win).
            first_current = next(
                (
                    merger.config_files[p].get("current-context")
                    for p in merger.paths
                    if (merger.config_files[p] or {}).get("current-context")
                ),
                None,
            )
            current = context or first_current or ""
            if not current:
                raise ClusterError(
                    "No context",
                    "the kubeconfig has no current-context",
                    summary="the kubeconfig sets no current-context; choose one of: "
                    + (", ".join(names) or "(none)"),
                )
            if current not in names:
                raise ClusterError(
                    "Unknown context",
                    f'context "{current}" is not in {spec}',
                    summary=f'no context "{current}" in the kubeconfig; known: '
                    + (", ".join(names) or "(none)"),
                )
            # No config_persister: kvtui never rewrites a user's kubeconfig files (a refreshed
            # OIDC token lives in memory for this session only).
            loader = KubeConfigLoader(config_dict=config, active_context=current)
            configuration = _new_configuration()
            loader.load_and_set(configuration)
        except ConfigException as exc:
            raise ClusterError(
                "Invalid kubeconfig", str(exc), summary=f"invalid kubeconfig: {exc}"
            ) from exc
        except (OSError, ValueError) as exc:  # unreadable file, YAML error, bad cert data
            raise ClusterError(
                "Invalid kubeconfig", str(exc), summary=f"cannot read the kubeconfig: {exc}"
            ) from exc

        ctx = _plain(_named(config.value["contexts"], current))["context"]
        cluster = _plain(_named(config.value.get("clusters"), ctx.get("cluster")))
        server = (cluster or {}).get("cluster", {}).get("server") or configuration.host
        return cls(
            k8s_client.ApiClient(configuration),
            context=current,
            server=str(server),
            namespace=ctx.get("namespace") or "default",
            user=ctx.get("user"),
            contexts=names,
            kubeconfig=spec,
        )

    @classmethod
    def in_cluster(cls) -> Connection:
        """The service account of the pod kvtui runs in."""
        configuration = _new_configuration()
        try:
            InClusterConfigLoader(
                token_filename=SERVICE_TOKEN_FILENAME, cert_filename=SERVICE_CERT_FILENAME
            ).load_and_set(configuration)
        except ConfigException as exc:
            raise ClusterError(
                "Not in a cluster", str(exc), summary=f"in-cluster configuration: {exc}"
            ) from exc
        namespace = "default"
        try:
            with open(SERVICE_NAMESPACE_FILENAME, encoding="utf-8") as fh:
                namespace = fh.read().strip() or "default"
        except OSError:
            pass
        return cls(
            k8s_client.ApiClient(configuration),
            context="in-cluster",
            server=configuration.host,
            namespace=namespace,
            user="serviceaccount",
            contexts=["in-cluster"],
        )

    @classmethod
    def auto(cls, path: str | None = None, context: str | None = None) -> Connection:
        """A kubeconfig if one exists, else the in-cluster service account, else an error."""
        candidates = _kubeconfig_candidates(path)
        if path or any(os.path.isfile(p) for p in candidates):
            return cls.from_kubeconfig(path, context)
        if os.environ.get(SERVICE_HOST_ENV_NAME):
            return cls.in_cluster()
        raise ClusterError(
            "No kubeconfig found",
            f"looked in {', '.join(candidates)}; not running inside a cluster either",
            summary=(
                f"no kubeconfig found (looked in {', '.join(candidates)}) and not running "
                "inside a cluster; set KUBECONFIG or pass --kubeconfig (or try --demo)"
            ),
        )

    # ---- contexts

    def contexts(self) -> list[str]:
        """The context names of the kubeconfig this connection came from."""
        return list(self._contexts)

    def switch(self, context: str) -> Connection:
        """A new Connection to another context of the same kubeconfig."""
        if self._kubeconfig is None:
            raise ClusterError(
                "Cannot switch context",
                "this connection does not come from a kubeconfig",
                summary="the in-cluster connection has no other contexts",
            )
        return Connection.from_kubeconfig(self._kubeconfig, context)

    def close(self) -> None:
        """Release the client's connection pool."""
        try:
            self.api_client.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass

    # ---- requests

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> HttpResponse:
        """One request with this connection's default timeout (see `send`)."""
        return send(
            self.api_client,
            method,
            path,
            query=query,
            body=body,
            content_type=content_type,
            timeout=timeout or self.timeout,
        )

    def version(self) -> dict[str, Any]:
        """GET /version (short timeout). Raises ClusterError when the cluster is unreachable."""
        try:
            answer = self.request("GET", "/version", timeout=VERSION_TIMEOUT).json()
        except ApiException as exc:
            raise from_api_exception(exc, "get", "the server version", server=self.server) from exc
        except ValueError as exc:
            raise ClusterError(
                "Not a Kubernetes API",
                str(exc),
                summary=f"{self.server} answered /version with something that is not JSON",
            ) from exc
        return answer if isinstance(answer, dict) else {}

    def kubevirt_version(self) -> str | None:
        """KubeVirt's gitVersion from virt-api, or None (not installed, no access, down)."""
        try:
            answer = self.request("GET", KUBEVIRT_VERSION_PATH, timeout=VERSION_TIMEOUT).json()
        except Exception:  # noqa: BLE001 - best effort by contract: never raises
            return None
        if isinstance(answer, dict):
            version = answer.get("gitVersion") or answer.get("version")
            return str(version) if version else None
        return None

    # ---- what a websocket client needs

    def ws_url(self, path: str) -> str:
        """The websocket URL of an API path (https -> wss, http -> ws)."""
        parts = urlsplit(self.server)
        scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
        base = parts.path.rstrip("/")
        rel, _, query = path.partition("?")
        if not rel.startswith("/"):
            rel = "/" + rel
        return urlunsplit((scheme, parts.netloc, base + rel, query, ""))

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header the client would send now (exec/OIDC tokens refreshed)."""
        configuration = self.api_client.configuration
        # auth_settings() goes through get_api_key_with_prefix, which runs the kubeconfig
        # loader's refresh hook (expired exec-plugin credentials are fetched again).
        settings = configuration.auth_settings() or {}
        out: dict[str, str] = {}
        for setting in settings.values():
            if setting.get("in") == "header" and setting.get("value"):
                key = str(setting.get("key") or "authorization")
                out["Authorization" if key.lower() == "authorization" else key] = str(
                    setting["value"]
                )
        return out

    def ssl_context(self) -> ssl.SSLContext | None:
        """A TLS context with the kubeconfig's CA, client certificate and verify setting.

        None for plain-http servers. Verification is off only when the kubeconfig says
        `insecure-skip-tls-verify: true`.
        """
        if not self.server.startswith("https"):
            return None
        configuration = self.api_client.configuration
        ca_file = getattr(configuration, "ssl_ca_cert", None)
        ca_data = getattr(configuration, "ca_cert_data", None)
        context = ssl.create_default_context(cafile=ca_file or None)
        if ca_data:
            context.load_verify_locations(
                cadata=ca_data.decode() if isinstance(ca_data, bytes) else ca_data
            )
        cert_file = getattr(configuration, "cert_file", None)
        if cert_file:
            context.load_cert_chain(cert_file, getattr(configuration, "key_file", None) or None)
        if not getattr(configuration, "verify_ssl", True):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    @property
    def tls_server_name(self) -> str | None:
        """The kubeconfig's `tls-server-name` (SNI and hostname check), if any."""
        return getattr(self.api_client.configuration, "tls_server_name", None) or None
