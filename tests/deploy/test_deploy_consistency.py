"""The image, the Kubernetes manifests and the configs agree on names, paths, ports and users.

Each file is valid on its own (scripts/lint_deploy.sh checks that); these tests catch the
cross-file mistakes no linter sees: a probe asking for another model name, metrics scraped on a
path the server does not serve, a config mounted where the entrypoint does not read it.
"""

import json
import os
import re
import subprocess
import sys

import pytest
from deploy_files import REPO, load_yaml, read_text


def dockerfile_entrypoint(name):
    """The exec-form ENTRYPOINT of a Dockerfile at the repository root, as a list."""
    text = read_text(name).replace("\\\n", " ")
    matches = re.findall(r"^ENTRYPOINT\s+(\[.*\])\s*$", text, flags=re.MULTILINE)
    assert matches, "%s has no exec-form ENTRYPOINT" % name
    return json.loads(matches[-1])


def flag_values(argv):
    return dict(arg[2:].split("=", 1) for arg in argv if arg.startswith("--") and "=" in arg)


def dockerfile_uids(name):
    return set(int(uid) for uid in re.findall(r"--uid (\d+)", read_text(name)))


def volume_mount(container, volume_name):
    mounts = [m for m in container["volumeMounts"] if m["name"] == volume_name]
    assert len(mounts) == 1, "container %s mounts volume %s %d times" % (
        container["name"], volume_name, len(mounts))
    return mounts[0]


def pod_volume(pod_spec, name):
    (volume,) = [v for v in pod_spec["volumes"] if v["name"] == name]
    return volume


def test_serving_entrypoint_reads_configs_where_kubernetes_mounts_them(deployment, serving_container):
    flags = flag_values(dockerfile_entrypoint("Dockerfile.gpu"))
    assert flags["enable_batching"] == "true"
    config_files = [flags[f] for f in ("model_config_file", "batching_parameters_file",
                                       "monitoring_config_file")]

    (generator,) = load_yaml("configs", "kustomization.yaml")[0]["configMapGenerator"]
    mount = volume_mount(serving_container, "config")
    volume = pod_volume(deployment["spec"]["template"]["spec"], "config")
    assert volume["configMap"]["name"] == generator["name"]
    for path in config_files:
        assert os.path.dirname(path) == mount["mountPath"]
        assert os.path.basename(path) in generator["files"]
        assert os.path.isfile(os.path.join(REPO, "configs", os.path.basename(path)))


def test_serving_ports_match_image_and_service(serving_container):
    flags = flag_values(dockerfile_entrypoint("Dockerfile.gpu"))
    ports = {p["name"]: p["containerPort"] for p in serving_container["ports"]}
    assert ports == {"grpc": int(flags["port"]), "http": int(flags["rest_api_port"])}
    (service,) = load_yaml("deploy", "serving", "base", "service.yaml")
    assert {p["targetPort"] for p in service["spec"]["ports"]} == set(ports)


@pytest.mark.needs_tf
def test_probes_ask_for_the_served_model(serving_container, served_model):
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = serving_container[probe]["httpGet"]
        assert get["path"] == "/v1/models/%s" % served_model.name, probe
        assert get["port"] == "http", probe
    # The Docker HEALTHCHECK asks for $MODEL_NAME.
    assert "ENV MODEL_NAME=%s\n" % served_model.name in read_text("Dockerfile.gpu")


@pytest.mark.needs_tf
def test_prometheus_scrapes_the_configured_metrics_path(deployment, monitoring, serving_container):
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == monitoring.prometheus_config.path
    http_port = {p["name"]: p["containerPort"] for p in serving_container["ports"]}["http"]
    assert annotations["prometheus.io/port"] == str(http_port)  # metrics are on the REST port


@pytest.mark.needs_tf
def test_model_volume_holds_the_served_base_path(deployment, serving_container, served_model):
    mount = volume_mount(serving_container, "models")
    assert served_model.base_path.startswith(mount["mountPath"].rstrip("/") + "/")
    claim = pod_volume(deployment["spec"]["template"]["spec"], "models")["persistentVolumeClaim"]
    (pvc,) = load_yaml("deploy", "serving", "base", "models-pvc.yaml")
    assert claim["claimName"] == pvc["metadata"]["name"]
    # The baked image copies the model to the same place.
    assert "COPY ${MODEL_DIR}/ %s/\n" % served_model.base_path in read_text("Dockerfile.gpu")


def test_pods_run_as_the_user_the_images_create(deployment):
    serving_uid = deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert dockerfile_uids("Dockerfile.gpu") == {serving_uid}
    (tfjob,) = load_yaml("deploy", "training", "tfjob.yaml")
    for role, spec in tfjob["spec"]["tfReplicaSpecs"].items():
        context = spec["template"]["spec"]["securityContext"]
        assert context["runAsNonRoot"] is True, role
        assert dockerfile_uids("Dockerfile.train") == {context["runAsUser"]}, role


@pytest.mark.needs_tf
def test_training_flagfile_parses_and_exports_where_serving_reads(served_model):
    # run_classifier.py's real flag definitions; a subprocess keeps absl's global FLAGS clean.
    script = (
        "import json, sys\n"
        "from absl import flags\n"
        "from bert_runner.flags import define_flags\n"
        "define_flags()\n"
        "flags.FLAGS(['run_classifier.py', '--flagfile=' + sys.argv[1]])\n"
        "print(json.dumps({n: flags.FLAGS[n].value for n in ('do_export', 'export_dir', 'task_name')}))\n"
    )
    flagfile = os.path.join(REPO, "deploy", "training", "train.flags")
    result = subprocess.run([sys.executable, "-c", script, flagfile], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, "deploy/training/train.flags:\n" + result.stderr[-2000:]
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["do_export"] is True
    assert values["export_dir"] == served_model.base_path

    (tfjob,) = load_yaml("deploy", "training", "tfjob.yaml")
    for role, spec in tfjob["spec"]["tfReplicaSpecs"].items():
        (container,) = spec["template"]["spec"]["containers"]
        assert container["args"] == ["--flagfile=/etc/bert-train/train.flags"], role
        assert volume_mount(container, "models")["mountPath"] == os.path.dirname(served_model.base_path)
