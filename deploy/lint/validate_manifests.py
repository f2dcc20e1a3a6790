"""Validate rendered Kubernetes manifests offline; exit 1 on any finding.

Built-in kinds are checked in strict mode (unknown fields are errors) against the Kubernetes
OpenAPI schemas that kubernetes-validate ships. The Kubeflow TFJob is a custom resource those
schemas lack: its own fields are checked against TFJOB_SCHEMA below (the subset of the
kubeflow.org/v1 TFJob API this project uses, plus the training operator's own rules), and every
replica's pod template against the real PodTemplate schema, so a typo in a container spec is
caught there too. A kind with no schema at all is an error, not a warning: nothing passes
unchecked.

Usage: validate_manifests.py [--kube-version 1.29 ...] RENDERED.yaml ...
Runs in the tools venv of scripts/lint_deploy.sh (Python >= 3.9, deploy/lint/requirements.txt).
"""

import argparse
import sys

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

TFJOB_REPLICA_TYPES = ["Chief", "Master", "Worker", "PS", "Evaluator"]

_REPLICA_SCHEMA = {
    "type": "object",
    "required": ["replicas", "template"],
    "additionalProperties": False,
    "properties": {
        "replicas": {"type": "integer", "minimum": 0},
        "restartPolicy": {"enum": ["Always", "OnFailure", "Never", "ExitCode"]},
        "template": {"type": "object", "required": ["spec"]},
    },
}

TFJOB_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kubeflow.org/v1"},
        "kind": {"const": "TFJob"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["tfReplicaSpecs"],
            "additionalProperties": False,
            "properties": {
                "runPolicy": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "cleanPodPolicy": {"enum": ["All", "Running", "None"]},
                        "ttlSecondsAfterFinished": {"type": "integer", "minimum": 0},
                        "activeDeadlineSeconds": {"type": "integer", "minimum": 0},
                        "backoffLimit": {"type": "integer", "minimum": 0},
                        "suspend": {"type": "boolean"},
                        "schedulingPolicy": {"type": "object"},
                    },
                },
                "successPolicy": {"enum": ["", "AllWorkers"]},
                "enableDynamicWorker": {"type": "boolean"},
                "tfReplicaSpecs": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"enum": TFJOB_REPLICA_TYPES},
                    "additionalProperties": _REPLICA_SCHEMA,
                },
            },
        },
    },
}


def _describe(doc):
    kind = doc.get("kind", "?") if isinstance(doc, dict) else "?"
    name = (doc.get("metadata") or {}).get("name", "?") if isinstance(doc, dict) else "?"
    return "%s/%s" % (kind, name)


def _path(error_path):
    return ".".join(str(part) for part in error_path) or "<root>"


def validate_builtin(doc, version):
    """Findings for one object of a built-in kind (strict: unknown fields are findings)."""
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except ValidationError as exc:
        return ["%s: %s" % (_path(exc.path), exc.message)]
    except SchemaNotFoundError as exc:
        return [exc.message + " (no schema: unknown kind or apiVersion)"]
    return []


def tfjob_findings(doc, version):
    """Findings for a TFJob: its own fields, the operator's rules, each pod template."""
    validator = jsonschema.Draft202012Validator(TFJOB_SCHEMA)
    findings = ["%s: %s" % (_path(err.absolute_path), err.message)
                for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))]
    if findings:
        return findings
    specs = doc["spec"]["tfReplicaSpecs"]
    if "Chief" in specs and "Master" in specs:
        findings.append("spec.tfReplicaSpecs: Chief and Master are the same role; use one")
    for role in ("Chief", "Master", "Evaluator"):
        if role in specs and specs[role]["replicas"] > 1:
            findings.append("spec.tfReplicaSpecs.%s.replicas: at most 1 (got %d)"
                            % (role, specs[role]["replicas"]))
    for role, spec in specs.items():
        where = "spec.tfReplicaSpecs.%s.template" % role
        containers = spec["template"]["spec"].get("containers") or []
        if not any(c.get("name") == "tensorflow" for c in containers):
            findings.append("%s.spec.containers: the training operator needs a container "
                            "named 'tensorflow'" % where)
        findings.extend(pod_template_findings(spec["template"], where, doc["metadata"]["name"], version))
    return findings


def pod_template_findings(template, where, name, version):
    """A custom resource's pod template checked as a real PodTemplate, paths as in the resource."""
    wrapper = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": name}, "template": template}
    return [where + f[len("template"):] if f.startswith("template") else f
            for f in validate_builtin(wrapper, version)]


# The subset of KServe's serving.kserve.io/v1beta1 InferenceService this project uses: a
# predictor (a model format with a storage URI, or containers) and an optional custom transformer.
_COMPONENT_PROPERTIES = {
    "minReplicas": {"type": "integer", "minimum": 0},
    "maxReplicas": {"type": "integer", "minimum": 1},
    "scaleTarget": {"type": "integer", "minimum": 1},
    "scaleMetric": {"enum": ["cpu", "memory", "concurrency", "rps"]},
    "containerConcurrency": {"type": "integer", "minimum": 0},
    "timeout": {"type": "integer", "minimum": 1},
    "serviceAccountName": {"type": "string"},
    "containers": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["name"]}},
}

INFERENCESERVICE_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "serving.kserve.io/v1beta1"},
        "kind": {"const": "InferenceService"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["predictor"],
            "additionalProperties": False,
            "properties": {
                "predictor": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": dict(_COMPONENT_PROPERTIES, model={
                        "type": "object",
                        "required": ["modelFormat"],
                        "additionalProperties": False,
                        "properties": {
                            "modelFormat": {"type": "object", "required": ["name"], "additionalProperties": False,
                                            "properties": {"name": {"type": "string"}, "version": {"type": "string"}}},
                            "runtime": {"type": "string"},
                            "runtimeVersion": {"type": "string"},
                            "protocolVersion": {"enum": ["v1", "v2", "grpc-v1", "grpc-v2"]},
                            "storageUri": {"type": "string", "pattern": "^(pvc|gs|s3|https?|hdfs|webhdfs|oci)://"},
                            "args": {"type": "array", "items": {"type": "string"}},
                            "env": {"type": "array"},
                            "resources": {"type": "object"},
                        },
                    }),
                    "oneOf": [{"required": ["model"]}, {"required": ["containers"]}],
                },
                "transformer": {
                    "type": "object",
                    "required": ["containers"],
                    "additionalProperties": False,
                    "properties": _COMPONENT_PROPERTIES,
                },
            },
        },
    },
}


def inferenceservice_findings(doc, version):
    """Findings for an InferenceService: its own fields, then each component's containers as a pod's."""
    validator = jsonschema.Draft202012Validator(INFERENCESERVICE_SCHEMA)
    findings = ["%s: %s" % (_path(err.absolute_path), err.message)
                for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))]
    if findings:
        return findings
    for component in ("predictor", "transformer"):
        containers = (doc["spec"].get(component) or {}).get("containers")
        if containers:
            # A component's pod fields sit in the component itself (spec.transformer.containers).
            findings.extend(f.replace("spec.%s.spec." % component, "spec.%s." % component, 1) for f in
                            pod_template_findings({"spec": {"containers": containers}}, "spec.%s" % component,
                                                  doc["metadata"]["name"], version))
    return findings


CUSTOM_KINDS = {
    ("kubeflow.org/v1", "TFJob"): tfjob_findings,
    ("serving.kserve.io/v1beta1", "InferenceService"): inferenceservice_findings,
}


def findings_for(doc, version):
    if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
        return ["not a Kubernetes object (apiVersion and kind are required)"]
    check = CUSTOM_KINDS.get((doc["apiVersion"], doc["kind"]))
    if check is not None:
        return check(doc, version)
    return validate_builtin(doc, version)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kube-version", action="append", dest="versions",
                        help="Kubernetes version to validate against (repeatable; default 1.29)")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    versions = args.versions or ["1.29"]

    failures = checked = 0
    for filename in args.files:
        with open(filename) as handle:
            try:
                docs = [d for d in yaml.safe_load_all(handle) if d is not None]
            except yaml.YAMLError as exc:
                print("ERROR %s: not valid YAML: %s" % (filename, exc))
                failures += 1
                continue
        if not docs:
            print("ERROR %s: no Kubernetes objects" % filename)
            failures += 1
        for doc in docs:
            for version in versions:
                checked += 1
                for finding in findings_for(doc, version):
                    failures += 1
                    print("ERROR %s: %s (Kubernetes %s): %s"
                          % (filename, _describe(doc), version, finding))
    print("validate_manifests: %d object checks, %d findings" % (checked, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
