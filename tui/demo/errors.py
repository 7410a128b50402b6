"""API errors as the real Kubernetes API server shapes them (metav1.Status)."""

from __future__ import annotations

from typing import Any

from tui.cluster.kinds import Kind

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
}


class ApiError(Exception):
    """An error the demo server answers with a Status body."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason if reason is not None else REASONS.get(code, "")
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def resource_name(kind: Kind) -> str:
    """`virtualmachines.kubevirt.io`, or `pods` for the core group, as messages spell it."""
    return kind.key


def _details(kind: Kind, name: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": kind.plural}
    if kind.group:
        details["group"] = kind.group
    if name:
        details["name"] = name
    return details


def not_found(kind: Kind, name: str) -> ApiError:
    return ApiError(404, f'{resource_name(kind)} "{name}" not found', details=_details(kind, name))


def already_exists(kind: Kind, name: str) -> ApiError:
    return ApiError(
        409,
        f'{resource_name(kind)} "{name}" already exists',
        reason="AlreadyExists",
        details=_details(kind, name),
    )


def conflict(kind: Kind, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {resource_name(kind)} "{name}": {why}',
        details=_details(kind, name),
    )


STALE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def invalid(
    kind: Kind, name: str, causes: list[dict[str, str]], message: str | None = None
) -> ApiError:
    """422 Invalid with field causes. `causes` use the wire shape {reason, message, field}."""
    if message is None:
        parts = [f"{c.get('field', '')}: {c.get('message', '')}".lstrip(": ") for c in causes]
        joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        qualified = f"{kind.kind}.{kind.group}" if kind.group else kind.kind
        message = f'{qualified} "{name}" is invalid: {joined}'
    details = _details(kind, name)
    details["kind"] = kind.kind
    details["causes"] = causes
    return ApiError(422, message, details=details)


def forbidden(
    user: str,
    verb: str,
    kind: Kind,
    namespace: str | None,
    name: str | None = None,
    subresource: str | None = None,
) -> ApiError:
    resource = kind.plural + (f"/{subresource}" if subresource else "")
    what = f'{resource_name(kind)} "{name}"' if name else resource_name(kind)
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return ApiError(
        403,
        f'{what} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
        f'in API group "{kind.group}" {scope}',
        details=_details(kind, name),
    )


def gone(message: str) -> ApiError:
    return ApiError(410, message, reason="Expired")
