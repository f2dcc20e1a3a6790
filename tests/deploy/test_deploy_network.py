"""Who may reach TF Serving: the NetworkPolicy admits the gateway and the metrics scraper, on the
REST port only, and selects the pods the serving Deployment creates (a label typo would leave
them open: a NetworkPolicy that selects no pod restricts nothing)."""

import pytest
from deploy_files import load_yaml


@pytest.fixture(scope="module")
def policy():
    (doc,) = load_yaml("deploy", "serving", "base", "networkpolicy.yaml")
    return doc


def selects(selector, labels):
    return bool(selector.get("matchLabels")) and all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def pod_labels(*path):
    (deployment,) = load_yaml(*path)
    return deployment["spec"]["template"]["metadata"]["labels"]


def test_policy_is_rendered_with_the_serving_base():
    (kustomization,) = load_yaml("deploy", "serving", "base", "kustomization.yaml")
    assert "networkpolicy.yaml" in kustomization["resources"]


def test_policy_selects_the_serving_pods_and_restricts_ingress(policy):
    assert policy["kind"] == "NetworkPolicy"
    assert selects(policy["spec"]["podSelector"], pod_labels("deploy", "serving", "base", "deployment.yaml"))
    assert policy["spec"]["policyTypes"] == ["Ingress"]


def test_only_the_gateway_and_the_scraper_reach_the_rest_port(policy, serving_container, deployment):
    rules = policy["spec"]["ingress"]
    assert len(rules) == 2
    gateway, scraper = rules
    for rule in rules:
        assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]  # never grpc (ModelService reloads)
        assert len(rule["from"]) == 1 and "ipBlock" not in rule["from"][0]
    ports = {p["name"]: p["containerPort"] for p in serving_container["ports"]}
    assert "http" in ports and "grpc" in ports
    # The gateway's pods, in the policy's own namespace (no namespaceSelector), calling the REST port.
    (peer,) = gateway["from"]
    assert set(peer) == {"podSelector"}
    assert selects(peer["podSelector"], pod_labels("deploy", "gateway", "deployment.yaml"))
    (gateway_deployment,) = load_yaml("deploy", "gateway", "deployment.yaml")
    args = gateway_deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--predictor_host=bert-serving:%d" % ports["http"] in args
    # The scraper: pods of another namespace, on the port the pods announce their metrics on.
    (peer,) = scraper["from"]
    assert set(peer) == {"namespaceSelector", "podSelector"}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["http"])
