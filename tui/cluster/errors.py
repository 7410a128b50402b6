"""Errors from the cluster, said the way a person can act on them.

Everything under `tui.cluster` raises `ClusterError` only: an `ApiException` from the
kubernetes client becomes one through `from_api_exception` (which reads the `metav1.Status`
body the API server sends), a refused connection or TLS failure through
`from_transport_error`. The UI shows `str(error)` on one line, `detail` in a details pane and
`causes` next to the form fields they name.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Cause",
    "ClusterError",
    "from_api_exception",
    "from_status",
    "from_transport_error",
    "redact",
    "read_only_error",
]


@dataclass(frozen=True)
class Cause:
    """One `metav1.StatusCause`: which field is wrong and why.

    The wire key for the cause's type is `reason` (`FieldValueInvalid`, `FieldValueRequired`,
    …); `type` here is that value.
    """

    type: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


# Short titles per HTTP status, as a dialog heading would show them.
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid",
    429: "Too many requests",
    500: "Server error",
    501: "Not implemented",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Timeout",
}

UNREACHABLE = "Cannot reach the cluster"
READ_ONLY = "Read-only mode"


class ClusterError(Exception):
    """A failed request, with what the server said and what it means for the user.

    `title` is short ("Conflict"), `summary` is one sentence kvtui wrote for the user,
    `detail` is the API's own message, `causes` the field-level reasons of a 422.
    `status` is the HTTP status, None when no HTTP answer arrived (transport errors,
    read-only refusals).
    """

    def __init__(
        self,
        title: str,
        detail: str = "",
        *,
        summary: str | None = None,
        causes: list[Cause] | None = None,
        status: int | None = None,
        reason: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        transport: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.title = title
        self.detail = redact(detail)
        self.summary = redact(summary if summary is not None else detail)
        self.causes: list[Cause] = list(causes or [])
        self.status = status
        self.reason = reason
        self.kind = kind
        self.name = name
        # True when no answer came back at all: the informer treats these as "disconnected"
        # and retries, where an HTTP error is an answer and says something about the request.
        self.transport = transport
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        text = self.summary or self.detail
        if not text:
            return self.title
        # Transport errors already read as one sentence ("Cannot reach the cluster at …").
        return text if text.startswith(self.title) else f"{self.title}: {text}"

    def __repr__(self) -> str:
        return f"ClusterError({self.title!r}, status={self.status!r}, summary={self.summary!r})"

    @property
    def is_not_found(self) -> bool:
        return self.status == 404

    @property
    def is_conflict(self) -> bool:
        return self.status == 409

    @property
    def is_gone(self) -> bool:
        return self.status == 410

    def field_messages(self) -> dict[str, list[str]]:
        """Cause messages by field path, for showing next to form fields."""
        out: dict[str, list[str]] = {}
        for cause in self.causes:
            out.setdefault(cause.field, []).append(cause.message)
        return out


# A bearer token or basic-auth value must never reach a message, a log or the screen.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\",}\s]+(\s+[^'\",}\s]+)?"),
    re.compile(r"(?i)(token['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9._~+/=-]{6,}"),
)


def redact(text: str) -> str:
    """Text with anything shaped like a credential replaced by `***`."""
    if not text:
        return text
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)} ***", text)
    text = _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)}***", text)
    return _SECRET_PATTERNS[2].sub(lambda m: f"{m.group(1)}***", text)


def read_only_error(verb: str, what: str) -> ClusterError:
    """The refusal of a mutating verb in read-only mode (no request is sent)."""
    return ClusterError(
        READ_ONLY,
        f"kvtui runs read-only; refusing to {verb} {what}",
        reason="ReadOnly",
    )


def _parse_body(body: Any) -> dict[str, Any] | None:
    if body is None:
        return None
    if isinstance(body, dict):
        return body
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip():
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _causes(status: dict[str, Any]) -> list[Cause]:
    details = status.get("details") or {}
    out = []
    for raw in details.get("causes") or []:
        if not isinstance(raw, dict):
            continue
        out.append(
            Cause(
                # metav1.StatusCause spells the type `reason` on the wire; KubeVirt's
                # webhooks build causes as Go structs too, so `type` is only a fallback.
                type=str(raw.get("reason") or raw.get("type") or ""),
                field=str(raw.get("field") or ""),
                message=str(raw.get("message") or ""),
            )
        )
    return out


_WEBHOOK_PREFIX = re.compile(r'^admission webhook "[^"]+" denied the request:\s*')
_CANNOT_FULFIL = re.compile(r"^Operation cannot be fulfilled on [^:]+:\s*(.*)$", re.S)
_STALE_MARK = "the object has been modified"


def _single_line(text: str) -> str:
    return " ".join(text.split())


def _names_another_resource(server_kind: str, what: str, kind: str | None) -> bool:
    """Whether a NotFound Status is about a different resource than the one asked for."""
    if not server_kind:
        return False
    theirs = server_kind.split(".", 1)[0].lower()
    resource = what.split(" in ", 1)[0].split("/", 1)[0].lower()
    ours = {resource, resource.removesuffix("s")}
    if kind:
        ours |= {kind.lower(), kind.lower() + "s"}
    return theirs not in ours


def from_status(
    status_obj: dict[str, Any] | None,
    code: int | None,
    verb: str,
    what: str,
    *,
    kind: str | None = None,
    name: str | None = None,
    http_reason: str | None = None,
    retry_after: float | None = None,
) -> ClusterError:
    """Build a ClusterError from a `metav1.Status` (an error body or a watch ERROR event).

    `verb` is what the user tried ("delete", "start"), `what` the resource phrase the
    messages use ("virtualmachines in vm-prod").
    """
    status_obj = status_obj or {}
    if code is None or code == 0:
        code = status_obj.get("code") or None
    message = str(status_obj.get("message") or "")
    reason = status_obj.get("reason") or http_reason or None
    details = status_obj.get("details") or {}
    server_kind = str(details.get("kind") or "")
    kind = kind or server_kind or None
    name = name or details.get("name") or None
    causes = _causes(status_obj)
    title = _TITLES.get(code or 0, f"HTTP {code}" if code else "Error")
    summary: str

    if code == 401:
        title = "Unauthorized"
        summary = (
            "the cluster refused the credentials (the token or client certificate is "
            "missing, invalid or expired); log in again or pick another context"
        )
    elif code == 403:
        summary = f"you may not {verb} {what}"
    elif code == 404:
        if verb in ("list", "watch") and not name:
            # Listing in a missing namespace is an empty list, so a 404 here means the
            # cluster does not serve the resource type at all (CRD not installed).
            resource = what.split(" in ", 1)[0]
            summary = f"the cluster does not serve {resource} (is the operator that provides them installed?)"
        elif message and _names_another_resource(server_kind, what, kind):
            # e.g. migrate on a stopped VM: KubeVirt looks up the VMI and reports *that*
            # missing ('virtualmachineinstance.kubevirt.io "db" not found').
            summary = message
        elif name:
            summary = f'{kind or "object"} "{name}" not found' + (
                f" ({what})" if what and what not in (kind, name) else ""
            )
        else:
            summary = message or f"{what} not found"
    elif code == 409 and reason == "AlreadyExists":
        title = "Already exists"
        summary = message or f'{kind or "object"} "{name}" already exists'
    elif code == 409:
        match = _CANNOT_FULFIL.match(message)
        why = match.group(1) if match else message
        if _STALE_MARK in why:
            summary = (
                f'{kind or "the object"} "{name}" was changed by someone else since it was '
                "loaded; reload it and apply the change again"
                if name
                else "the object was changed by someone else since it was loaded; reload it"
            )
        elif why:
            target = f" {name}" if name else ""
            summary = f"cannot {verb}{target}: {why}"
        else:
            summary = f"cannot {verb} {what}"
    elif code == 410:
        summary = message or "the requested resourceVersion is too old"
    elif code == 422 or (code == 400 and causes):
        if causes:
            listed = "; ".join(str(c) for c in causes)
            target = f'{kind or "object"} "{name}"' if name else what
            summary = f"{target} is invalid: {listed}"
        else:
            summary = _WEBHOOK_PREFIX.sub("", message) or f"{what} is invalid"
    elif code == 429:
        summary = message or "the server is overloaded; try again shortly"
    else:
        summary = _WEBHOOK_PREFIX.sub("", message) or (http_reason or f"{verb} {what} failed")

    return ClusterError(
        title,
        message or (http_reason or ""),
        summary=_single_line(summary),
        causes=causes,
        status=code,
        reason=reason,
        kind=kind,
        name=name,
        retry_after=retry_after,
    )


def from_api_exception(
    exc: Any,
    verb: str,
    what: str,
    *,
    kind: str | None = None,
    name: str | None = None,
    server: str | None = None,
) -> ClusterError:
    """Translate a kubernetes `ApiException` (an HTTP answer that is not 2xx).

    The client reports TLS failures as status 0; those become transport errors.
    """
    status = getattr(exc, "status", None)
    if not status:
        reason = str(getattr(exc, "reason", "") or exc)
        return ClusterError(
            UNREACHABLE,
            reason,
            summary=_single_line(f"{UNREACHABLE} at {server}: {reason}" if server else reason),
            transport=True,
        )
    body = _parse_body(getattr(exc, "body", None))
    headers = getattr(exc, "headers", None) or {}
    retry_after: float | None = None
    try:
        value = headers.get("Retry-After") if hasattr(headers, "get") else None
        retry_after = float(value) if value else None
    except (TypeError, ValueError):
        retry_after = None
    if body is None or body.get("kind") != "Status":
        # Not a Status (a proxy's HTML page, a plain-text 404 from a non-Kubernetes server):
        # keep a short excerpt so the user sees something recognisable.
        raw = getattr(exc, "body", None)
        if isinstance(raw, (bytes, bytearray)):
            raw = bytes(raw).decode("utf-8", "replace")
        excerpt = _single_line(str(raw or ""))[:200]
        body = {"message": excerpt} if excerpt else {}
    return from_status(
        body,
        int(status),
        verb,
        what,
        kind=kind,
        name=name,
        http_reason=getattr(exc, "reason", None),
        retry_after=retry_after,
    )


def _root_cause(exc: BaseException) -> BaseException:
    """Follow urllib3's wrappers (MaxRetryError.reason, __cause__) to the OS-level error."""
    seen = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        nxt = getattr(current, "reason", None)
        if isinstance(nxt, BaseException):
            current = nxt
            continue
        if current.__cause__ is not None:
            current = current.__cause__
            continue
        if current.__context__ is not None and not isinstance(current, OSError):
            current = current.__context__
            continue
        break
    return current


def _describe(exc: BaseException) -> str:
    """A few words for a transport failure: "connection refused", "unknown host", …"""
    # urllib3's exceptions are imported lazily so errors.py stays importable on its own.
    try:
        from urllib3 import exceptions as u3
    except ImportError:  # pragma: no cover - urllib3 is a dependency of kubernetes
        u3 = None

    if u3 is not None and isinstance(exc, u3.ReadTimeoutError):
        return "no answer in time (read timed out)"
    root = _root_cause(exc)
    text = str(root)
    if isinstance(root, ConnectionRefusedError) or "Connection refused" in text:
        return "connection refused"
    if isinstance(root, socket.gaierror) or "Name or service not known" in text:
        return "unknown host"
    if isinstance(root, (ssl.SSLCertVerificationError,)) or "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            f"TLS certificate verification failed ({getattr(root, 'verify_message', '') or text})"
        )
    if isinstance(root, ssl.SSLError):
        return f"TLS error ({text})"
    if (
        isinstance(root, (TimeoutError, socket.timeout))
        or "timed out" in text
        # urllib3 2 makes NewConnectionError a ConnectTimeoutError subclass, so this test
        # comes after the refused/unknown-host ones.
        or (u3 is not None and isinstance(exc, u3.ConnectTimeoutError))
    ):
        return "connection timed out"
    if isinstance(root, ConnectionResetError) or "reset by peer" in text:
        return "connection reset by the server"
    if "RemoteDisconnected" in type(root).__name__ or "closed connection" in text:
        return "the server closed the connection"
    if u3 is not None and isinstance(exc, u3.ProtocolError):
        return "the connection broke off"
    if isinstance(root, OSError) and root.strerror:
        return root.strerror.lower()
    return text or type(root).__name__


def from_transport_error(exc: BaseException, server: str | None) -> ClusterError:
    """A request that got no HTTP answer: refused, timed out, TLS failure, reset."""
    what = _describe(exc)
    where = f" at {server}" if server else ""
    if what.startswith("no answer in time"):
        # The server accepted the connection but did not answer: slow, not unreachable.
        title, summary = "Timeout", f"the cluster{where} did not answer in time"
    else:
        title, summary = UNREACHABLE, f"{UNREACHABLE}{where}: {what}"
    return ClusterError(title, _single_line(str(exc)), summary=summary, transport=True)
