"""Checking a VM manifest typed as YAML, before and around the server's dry run.

Pure functions over text and plain dicts (no I/O), used by the create-from-YAML screen:

- `parse_manifest(text)`: the object, or a `Problem` with the line and column of a YAML
  syntax error (1-based, as editors count).
- `unknown_fields(obj, schema)`: fields the VM schema does not know, each with a
  "did you mean" from the names that are allowed at that place. The schema is the server's
  own OpenAPI v3 document when it has one (`openapi_schema`), else kvtui's copy of the
  KubeVirt CRDs (`builtin_schema`, the one the demo server validates with).
- `server_problems(error, text)`: a refused dry run as problems: the 422's causes, or the
  unknown fields a `fieldValidation=Strict` 400 names, each placed on its line.
- `locate(text, path)`: where `spec.template.spec.domain.devices.disks[0].bus` is written.
- `STARTER_VM`: what `:new --yaml` opens with.

Field paths are spelled the way the API server spells them: dots between fields, list
items by index (`disks[0]`), map keys in brackets when they hold dots
(`metadata.labels[app.kubernetes.io/name]`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import yaml

VM_GVK = ("kubevirt.io", "v1", "VirtualMachine")

STARTER_VM = """\
# A new VirtualMachine. ctrl+s checks it and asks the server
# for a dry run, then the review step creates it. esc: back.
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: my-vm
  labels:
    app: my-vm
spec:
  # Always, Halted, Manual or RerunOnFailure
  runStrategy: Halted
  template:
    metadata:
      labels:
        kubevirt.io/domain: my-vm
    spec:
      domain:
        cpu:
          cores: 1
        memory:
          guest: 1Gi
        devices:
          disks:
            - name: rootdisk
              disk:
                bus: virtio
            - name: cloudinitdisk
              disk:
                bus: virtio
          interfaces:
            - name: default
              masquerade: {}
      networks:
        - name: default
          pod: {}
      volumes:
        - name: rootdisk
          containerDisk:
            image: quay.io/containerdisks/fedora:latest
        - name: cloudinitdisk
          cloudInitNoCloud:
            userData: |
              #cloud-config
              user: fedora
              password: change-me
              chpasswd: { expire: False }
"""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the manifest, and where: `line`/`column` are 1-based, None
    when the text has no such place (a required field that is missing, say)."""

    message: str
    field: str = ""
    line: int | None = None
    column: int | None = None
    source: str = ""  # "yaml", "schema", "server"

    def where(self) -> str:
        if self.line is None:
            return self.field or "the manifest"
        text = f"line {self.line}"
        if self.column is not None:
            text += f", column {self.column}"
        return text

    def __str__(self) -> str:
        field = f"{self.field}: " if self.field and self.line is not None else ""
        return f"{self.where()}: {field}{self.message}"


# --------------------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------------------


def parse_manifest(text: str) -> tuple[dict[str, Any] | None, Problem | None]:
    """(object, None) or (None, the problem): syntax errors carry line and column."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"{problem} ({context})" if context else str(problem)
        if mark is not None:
            return None, Problem(
                f"YAML error: {message}", line=mark.line + 1, column=mark.column + 1, source="yaml"
            )
        return None, Problem(f"YAML error: {message}", source="yaml")
    if not docs:
        return None, Problem("the text is empty: write a VirtualMachine", source="yaml")
    if len(docs) > 1:
        return None, Problem(
            f"{len(docs)} documents (separated by ---): create one VirtualMachine at a time",
            source="yaml",
        )
    obj = docs[0]
    if not isinstance(obj, dict):
        return None, Problem(
            "the document must be a mapping (a VirtualMachine object), not a " + type(obj).__name__,
            line=1,
            column=1,
            source="yaml",
        )
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind != "VirtualMachine" or api_version != "kubevirt.io/v1":
        where = locate(text, "kind" if kind != "VirtualMachine" else "apiVersion")
        return None, Problem(
            f"expected apiVersion kubevirt.io/v1 and kind VirtualMachine, got "
            f"{api_version!r} and {kind!r}",
            field="kind" if kind != "VirtualMachine" else "apiVersion",
            line=where[0] if where else None,
            column=where[1] if where else None,
            source="yaml",
        )
    return obj, None


@dataclass
class Bundle:
    """What a YAML text holds: one VirtualMachine and the objects that go with it (created
    before it, in the order written: instancetypes, DataVolumes, Secrets…), or one Template.
    `docs[i]` is the i-th non-empty document; `vm`/`template` index into it."""

    docs: list[dict[str, Any]]
    vm: int | None = None
    template: int | None = None

    @property
    def vm_object(self) -> dict[str, Any]:
        assert self.vm is not None
        return self.docs[self.vm]

    @property
    def extras(self) -> list[tuple[int, dict[str, Any]]]:
        return [(i, d) for i, d in enumerate(self.docs) if i != self.vm]


def _doc_problem(text: str, doc: int, message: str, field: str = "kind") -> Problem:
    where = locate(text, field, doc) or locate(text, "", doc)
    return Problem(
        message,
        field=field,
        line=where[0] if where else None,
        column=where[1] if where else None,
        source="yaml",
    )


def parse_bundle(text: str) -> tuple[Bundle | None, Problem | None]:
    """The documents of `text`: one VirtualMachine (with companions), or one Template.

    Which companion kinds can be created is the caller's to check. Syntax errors carry
    line and column, as in `parse_manifest`.
    """
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return None, parse_manifest(text)[1]
    if not docs:
        return None, Problem("the text is empty: write a VirtualMachine", source="yaml")
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict):
            return None, _doc_problem(
                text,
                index,
                "each document must be a mapping (an object), not a " + type(doc).__name__,
                field="",
            )
    kinds = [(str(d.get("apiVersion") or ""), str(d.get("kind") or "")) for d in docs]
    vms = [i for i, k in enumerate(kinds) if k == ("kubevirt.io/v1", "VirtualMachine")]
    templates = [i for i, k in enumerate(kinds) if k[1] == "Template"]
    if len(docs) == 1 and templates:
        return Bundle(docs, template=0), None
    if len(vms) > 1:
        return None, _doc_problem(
            text,
            vms[1],
            f"{len(vms)} VirtualMachines: create one at a time (with the objects that go with it)",
        )
    if not vms:
        if len(docs) == 1:
            return None, parse_manifest(text)[1]
        return None, _doc_problem(
            text, 0, "no VirtualMachine (kubevirt.io/v1) among the documents", field=""
        )
    if templates:
        return None, _doc_problem(
            text, templates[0], "a Template goes on its own: open it without the other objects"
        )
    return Bundle(docs, vm=vms[0]), None


# --------------------------------------------------------------------------------------
# Field paths and where they are written
# --------------------------------------------------------------------------------------

_SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def split_path(path: str) -> list[str | int]:
    """`spec.volumes[0].name` -> ["spec", "volumes", 0, "name"]; `labels[a.b/c]` -> key."""
    out: list[str | int] = []
    for m in _SEGMENT.finditer(path):
        name, index = m.groups()
        if name is not None:
            out.append(name)
        elif index is not None:
            out.append(int(index) if index.isdigit() else index.strip("'\""))
    return out


def join_path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif "." in part:
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def locate(text: str, path: str, doc: int = 0) -> tuple[int, int] | None:
    """(line, column), 1-based, of the deepest part of `path` written in document `doc` of
    `text`; the key of a mapping entry, the item of a list. None when the text does not
    parse or the first part of the path is not there. An empty path: the document's start."""
    try:
        nodes = [n for n in yaml.compose_all(text) if n is not None]
    except yaml.YAMLError:
        return None
    if not 0 <= doc < len(nodes):
        return None
    node = nodes[doc]
    found: tuple[int, int] | None = (node.start_mark.line + 1, node.start_mark.column + 1)
    if path:
        found = None
    for part in split_path(path):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    found = (key.start_mark.line + 1, key.start_mark.column + 1)
                    node = value
                    break
            else:
                return found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return found
            node = node.value[part]
            found = (node.start_mark.line + 1, node.start_mark.column + 1)
        else:
            return found
    return found


def _placed(text: str, message: str, field: str, source: str, doc: int = 0) -> Problem:
    where = locate(text, field, doc) if field else None
    return Problem(
        message,
        field=field,
        line=where[0] if where else None,
        column=where[1] if where else None,
        source=source,
    )


# --------------------------------------------------------------------------------------
# Schemas: the server's OpenAPI v3, or kvtui's own copy of the CRDs
# --------------------------------------------------------------------------------------

# A schema, normalised: ("any",), ("object", {name: schema}), ("map", value schema),
# ("list", item schema). Built lazily from OpenAPI (which is large and recursive).


class Schema:
    """Where fields may be: one node of a schema."""

    def children(self) -> dict[str, Schema] | None:
        """Known field names -> their schema; None when any name goes (free-form or a map)."""
        return None

    def value(self, key: str) -> Schema | None:
        """The schema of field `key`, None when it is unknown here."""
        return ANY_SCHEMA

    def item(self) -> Schema:
        """The schema of a list's items."""
        return ANY_SCHEMA

    @property
    def free(self) -> bool:
        return False


class _Any(Schema):
    @property
    def free(self) -> bool:
        return True


ANY_SCHEMA: Schema = _Any()


class _Builtin(Schema):
    """A node of `tui.demo.schema` (dict of names, one-element list, or None)."""

    def __init__(self, node: Any) -> None:
        self.node = node

    @property
    def free(self) -> bool:
        return self.node is None

    def children(self) -> dict[str, Schema] | None:
        if isinstance(self.node, dict):
            return {k: _Builtin(v) for k, v in self.node.items()}
        return None

    def value(self, key: str) -> Schema | None:
        if isinstance(self.node, dict):
            return _Builtin(self.node[key]) if key in self.node else None
        return ANY_SCHEMA

    def item(self) -> Schema:
        if isinstance(self.node, list) and self.node:
            return _Builtin(self.node[0])
        return ANY_SCHEMA


class _OpenApi(Schema):
    """A node of an OpenAPI v3 schema, `$ref`s resolved against `components.schemas`."""

    def __init__(self, node: Any, components: dict[str, Any]) -> None:
        self.components = components
        self.node = self._resolve(node)

    def _resolve(self, node: Any, depth: int = 0) -> dict[str, Any]:
        if not isinstance(node, dict) or depth > 20:
            return {}
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = self.components.get(ref.rsplit("/", 1)[-1])
            return self._resolve(target, depth + 1)
        all_of = node.get("allOf")
        if isinstance(all_of, list) and "properties" not in node:
            merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
            for part in all_of:
                resolved = self._resolve(part, depth + 1)
                for key, value in resolved.items():
                    if key == "properties" and isinstance(value, dict):
                        merged.setdefault("properties", {}).update(value)
                    else:
                        merged.setdefault(key, value)
            return merged
        return node

    @property
    def free(self) -> bool:
        node = self.node
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return True
        if "properties" in node or "items" in node:
            return False
        # A map (additionalProperties) takes any key but its values still have a schema.
        return "additionalProperties" not in node

    def children(self) -> dict[str, Schema] | None:
        if self.free:
            return None
        props = self.node.get("properties")
        if isinstance(props, dict):
            return {k: _OpenApi(v, self.components) for k, v in props.items()}
        return None

    def value(self, key: str) -> Schema | None:
        if self.free:
            return ANY_SCHEMA
        props = self.node.get("properties")
        if isinstance(props, dict):
            if key in props:
                return _OpenApi(props[key], self.components)
            extra = self.node.get("additionalProperties")
            if isinstance(extra, dict):
                return _OpenApi(extra, self.components)
            return ANY_SCHEMA if extra is True else None
        extra = self.node.get("additionalProperties")
        if isinstance(extra, dict):
            return _OpenApi(extra, self.components)
        return ANY_SCHEMA

    def item(self) -> Schema:
        items = self.node.get("items")
        return _OpenApi(items, self.components) if isinstance(items, dict) else ANY_SCHEMA


def builtin_schema(kind: str = "VirtualMachine") -> Schema:
    """kvtui's copy of the KubeVirt CRD schema (the one the demo server validates with)."""
    from tui.demo import schema as known

    node = known.SCHEMAS.get(kind)
    return _Builtin(node) if node is not None else ANY_SCHEMA


def openapi_schema(document: Any, gvk: tuple[str, str, str] = VM_GVK) -> Schema | None:
    """The schema of `gvk` in an OpenAPI v3 group-version document (`/openapi/v3/apis/…`),
    or None when the document does not describe it (a server that publishes no schemas)."""
    if not isinstance(document, dict):
        return None
    components = (document.get("components") or {}).get("schemas") or {}
    if not isinstance(components, dict):
        return None
    group, version, kind = gvk
    for schema in components.values():
        if not isinstance(schema, dict):
            continue
        for entry in schema.get("x-kubernetes-group-version-kind") or []:
            if (
                isinstance(entry, dict)
                and entry.get("group", "") == group
                and entry.get("version") == version
                and entry.get("kind") == kind
            ):
                node = _OpenApi(schema, components)
                return node if node.children() else None
    return None


# --------------------------------------------------------------------------------------
# Unknown fields
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnknownField:
    """A field the schema does not know at `path`, and the closest names it does know."""

    path: str
    suggestions: tuple[str, ...] = ()

    def message(self) -> str:
        name = split_path(self.path)[-1] if self.path else ""
        text = f'unknown field "{name}"'
        if self.suggestions:
            text += " (did you mean " + " or ".join(f'"{s}"' for s in self.suggestions) + "?)"
        return text


def unknown_fields(obj: Any, schema: Schema) -> list[UnknownField]:
    """Every field of `obj` that `schema` does not know, in document order."""
    out: list[UnknownField] = []
    _walk(obj, schema, [], out)
    return out


def _walk(value: Any, schema: Schema, path: list[str | int], out: list[UnknownField]) -> None:
    if schema.free:
        return
    if isinstance(value, list):
        item = schema.item()
        for index, element in enumerate(value):
            _walk(element, item, [*path, index], out)
        return
    if not isinstance(value, dict):
        return  # a wrong type is the server's to report, not an unknown field
    for key, child in value.items():
        key = str(key)
        child_schema = schema.value(key)
        if child_schema is None:
            known = schema.children() or {}
            close = difflib.get_close_matches(key, list(known), n=2, cutoff=0.6)
            if not close:
                lowered = {k.lower(): k for k in known}
                if key.lower() in lowered:
                    close = [lowered[key.lower()]]
            out.append(UnknownField(join_path([*path, key]), tuple(close)))
            continue
        _walk(child, child_schema, [*path, key], out)


def unknown_field_problems(text: str, obj: Any, schema: Schema, doc: int = 0) -> list[Problem]:
    """`unknown_fields` as problems placed on their lines (of document `doc`)."""
    return [
        _placed(text, field.message(), field.path, "schema", doc)
        for field in unknown_fields(obj, schema)
    ]


# --------------------------------------------------------------------------------------
# What the server said
# --------------------------------------------------------------------------------------

_STRICT_FIELD = re.compile(r'unknown field "([^"]+)"')
_DUPLICATE_FIELD = re.compile(r'duplicate field "([^"]+)"')


def strict_unknown_fields(message: str) -> list[str]:
    """The field paths a `fieldValidation=Strict` failure (or Warn warnings) name."""
    return _STRICT_FIELD.findall(message or "")


def server_problems(error: Any, text: str, doc: int = 0) -> list[Problem]:
    """A ClusterError from a dry run as problems placed on the lines they name.

    422: one problem per cause (its `field`, found in the text when written there). A
    strict-decoding 400: one per unknown or duplicate field. Anything else: one problem
    without a place, the error's own sentence.
    """
    causes = list(getattr(error, "causes", None) or [])
    detail = str(getattr(error, "detail", "") or "")
    problems: list[Problem] = []
    for cause in causes:
        field = str(getattr(cause, "field", "") or "")
        message = str(getattr(cause, "message", "") or "")
        if field and message.startswith(field + ": "):
            message = message[len(field) + 2 :]
        problems.append(_placed(text, message or str(cause), field, "server", doc))
    if not problems:
        for field in strict_unknown_fields(detail):
            name = split_path(field)[-1] if field else field
            problems.append(_placed(text, f'unknown field "{name}"', field, "server", doc))
        for field in _DUPLICATE_FIELD.findall(detail):
            problems.append(_placed(text, "this field is written twice", field, "server", doc))
    if not problems:
        problems.append(Problem(str(error), source="server"))
    return problems


def name_of(obj: dict[str, Any]) -> tuple[str, str]:
    """(namespace, name) written in the manifest ('' when absent)."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")
