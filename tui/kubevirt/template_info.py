"""What the "create from a template" screen shows and sends, apart from the screen.

Pure functions over plain dicts (no I/O):

- `describe(template)`: display name, description, OS / workload / flavor (from the
  common-templates labels and annotations), and the parameters as the form lists them.
- `with_values(template, values)`: the Template with each parameter's `value` set, the
  body `processedtemplates` takes (an empty value leaves the server to generate or refuse).
- `initial_values(template)`: what the form starts with: defaults, and a fresh value for
  each generated parameter (the user sees it and may change it).
- `parameter_problems(template, values)`: per-parameter messages (required and empty; a
  `NAME` that is no DNS-1123 name), for showing next to the fields.
- `vm_of(processed)`: the VirtualMachine among the processed objects, with the
  `vm.kubevirt.io/template.namespace` label the OpenShift console adds.

Everything here comes from the cluster and is untrusted: callers render it as plain text.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

from tui.kubevirt.names import dns_label_problem
from tui.kubevirt.templates import generate
from tui.kubevirt.untrusted import as_dict, as_list, as_str

OS_LABEL = "os.template.kubevirt.io/"
WORKLOAD_LABEL = "workload.template.kubevirt.io/"
FLAVOR_LABEL = "flavor.template.kubevirt.io/"
OS_NAME_ANNOTATION = "name.os.template.kubevirt.io/"
TEMPLATE_NS_LABEL = "vm.kubevirt.io/template.namespace"


@dataclass(frozen=True)
class Parameter:
    """One template parameter as the form shows it."""

    name: str
    display_name: str
    description: str
    default: str
    required: bool
    generate_from: str  # the expression of a generated parameter, "" otherwise

    @property
    def generated(self) -> bool:
        return bool(self.generate_from)

    @property
    def label(self) -> str:
        return self.display_name or self.name

    def hint(self) -> str:
        """One line under the field: what it is and what happens when left empty."""
        parts = [self.description] if self.description else []
        if self.required:
            parts.append("required")
        if self.generated:
            parts.append(f"generated from {self.generate_from} when empty")
        elif self.default:
            parts.append(f"default {self.default}")
        return "; ".join(parts)


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    namespace: str
    display_name: str
    description: str
    operating_systems: tuple[str, ...]
    workload: str
    flavor: str
    cpus: str
    memory: str
    parameters: tuple[Parameter, ...]
    message: str


def _suffixes(labels: dict[str, Any], prefix: str) -> list[str]:
    return sorted(
        key[len(prefix) :]
        for key, value in labels.items()
        if isinstance(key, str) and key.startswith(prefix) and as_str(value) == "true"
    )


def _vm_object(template: dict[str, Any]) -> dict[str, Any]:
    for obj in as_list(template.get("objects")):
        if as_dict(obj).get("kind") == "VirtualMachine":
            return as_dict(obj)
    return {}


def describe(template: dict[str, Any]) -> TemplateInfo:
    meta = as_dict(template.get("metadata"))
    labels = as_dict(meta.get("labels"))
    annotations = as_dict(meta.get("annotations"))
    os_ids = _suffixes(labels, OS_LABEL)
    by_name: dict[str, list[str]] = {}
    for os_id in os_ids:
        name = as_str(annotations.get(OS_NAME_ANNOTATION + os_id))
        by_name.setdefault(name, []).append(os_id)
    names = [
        f"{name} ({', '.join(ids)})" if name else ", ".join(ids) for name, ids in by_name.items()
    ]
    domain = as_dict(
        as_dict(as_dict(as_dict(_vm_object(template).get("spec")).get("template")).get("spec")).get(
            "domain"
        )
    )
    cpu = as_dict(domain.get("cpu"))
    counts = [cpu.get(k) for k in ("sockets", "cores", "threads")]
    vcpus = 1
    for count in counts:
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            vcpus *= count
    memory = as_str(as_dict(domain.get("memory")).get("guest")) or as_str(
        as_dict(as_dict(domain.get("resources")).get("requests")).get("memory")
    )
    params = []
    for raw in as_list(template.get("parameters")):
        param = as_dict(raw)
        name = as_str(param.get("name"))
        if not name:
            continue
        params.append(
            Parameter(
                name=name,
                display_name=as_str(param.get("displayName")),
                description=as_str(param.get("description")),
                default=as_str(param.get("value")),
                required=bool(param.get("required")),
                generate_from=as_str(param.get("from"))
                if as_str(param.get("generate")) == "expression"
                else "",
            )
        )
    return TemplateInfo(
        name=as_str(meta.get("name")),
        namespace=as_str(meta.get("namespace")),
        display_name=as_str(annotations.get("openshift.io/display-name")),
        description=as_str(annotations.get("description")),
        operating_systems=tuple(names),
        workload=", ".join(_suffixes(labels, WORKLOAD_LABEL)),
        flavor=", ".join(_suffixes(labels, FLAVOR_LABEL)),
        cpus=str(vcpus) if domain else "",
        memory=memory,
        parameters=tuple(params),
        message=as_str(template.get("message")),
    )


def initial_values(template: dict[str, Any], rng: random.Random | None = None) -> dict[str, str]:
    """Defaults, and a fresh value for each generated parameter without one."""
    out: dict[str, str] = {}
    for param in describe(template).parameters:
        if param.default:
            out[param.name] = param.default
        elif param.generated:
            out[param.name] = generate(param.generate_from, rng)
        else:
            out[param.name] = ""
    return out


def parameter_problems(template: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    """Parameter name -> what is wrong with its value (nothing listed: all fine)."""
    problems: dict[str, str] = {}
    for param in describe(template).parameters:
        value = values.get(param.name, "")
        if value == "":
            if param.required:
                problems[param.name] = f"{param.label} is required"
            continue
        if not value.strip():
            problems[param.name] = "only spaces: type a value, or clear the field" + (
                " to have one generated" if param.generated else ""
            )
            continue
        if param.name == "NAME":
            problem = dns_label_problem(value)
            if problem:
                problems[param.name] = f"not a valid VM name: {problem}"
    return problems


def with_values(template: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The Template to process: each parameter's `value` is the user's (when not empty).

    Server-managed metadata (resourceVersion, uid, managedFields) is dropped: processing
    creates nothing, and the body should be what the user chose, no more.
    """
    out = copy.deepcopy(template)
    meta = as_dict(out.get("metadata"))
    out["metadata"] = {
        k: v
        for k, v in meta.items()
        if k in ("name", "namespace", "labels", "annotations", "generateName")
    }
    out.setdefault("apiVersion", "template.openshift.io/v1")
    out.setdefault("kind", "Template")
    for param in as_list(out.get("parameters")):
        if not isinstance(param, dict):
            continue
        value = values.get(as_str(param.get("name")))
        if value is not None and value != "":
            param["value"] = value
    return out


def vm_of(processed: dict[str, Any], template_namespace: str = "") -> dict[str, Any] | None:
    """The processed VirtualMachine, labelled with the template's namespace; None if none."""
    vm = copy.deepcopy(_vm_object(processed))
    if not vm:
        return None
    if template_namespace:
        meta = vm.setdefault("metadata", {})
        labels = meta.setdefault("labels", {})
        if isinstance(labels, dict):
            labels.setdefault(TEMPLATE_NS_LABEL, template_namespace)
    return vm


def other_objects(processed: dict[str, Any]) -> list[dict[str, Any]]:
    """The processed objects that are not the VM (created along with it, in order)."""
    vm = _vm_object(processed)
    return [as_dict(o) for o in as_list(processed.get("objects")) if as_dict(o) is not vm]
