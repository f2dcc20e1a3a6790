"""`python -m pretrained export-hf`: models of this pipeline loaded by transformers give the served probabilities.

Four tiny models (BERT with Google's tanh GELU and DistilBERT with the exact GELU, each a
sequence classifier and a token classifier) get random weights of visible spread in a run
directory (with the optimizer slots a real run leaves), are exported with `--do_export`
and served by one local server. `export-hf` writes each as a Hugging Face directory;
bench/hf_transformers.py loads them under TF2_PYTHON with transformers' TF classes
and AutoTokenizer. Checked: no missing or unused weights, the tokenizer's ids equal the
featurizer's, softmax(logits) equals the served probabilities within 1e-5, the
text-classification pipeline names the client's label; the export and the run directory
give the same files; and both round trips (import(export(x)) and export(import(hf))).
"""

import contextlib
import io
import json
import os
import subprocess

import numpy as np
import pytest
from safetensors.numpy import load_file

from bert_contract import MULTI_LABEL_CLASSIFICATION, SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION

pytestmark = pytest.mark.needs_tf

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "..", "..", "bench", "hf_transformers.py")
TOLERANCE = 1e-5
MAX_SEQ_LENGTH = 24
SEQUENCE_LABELS = ["spam", "ham", "unsure"]  # not sorted: id2label must keep the model's order
TAGS = ["O", "B-per", "I-per", "B-loc", "I-loc"]
MULTI_LABELS = ["joy", "anger", "fear"]
TUNED = [0.3, 0.65, 0.5]  # bert-multi's thresholds.json: exported in the metadata, written to config.json
TEXTS = ["good movie", "The food is awful and the movie is bad too, FREE cash now!!", "great", "zed lee went to jolo"]
PAIRS = ["bad", "ok fine", "the movie is great", "vik"]
DISTILBERT = {"architecture": "distilbert", "type_vocab_size": 0, "hidden_act": "gelu_exact"}
KINDS = {  # task kind -> (labels, --task_name)
    SEQUENCE_CLASSIFICATION: (SEQUENCE_LABELS, "generic"),
    TOKEN_CLASSIFICATION: (TAGS, "ner"),
    MULTI_LABEL_CLASSIFICATION: (MULTI_LABELS, "multilabel"),
}
MODELS = {  # name -> (bert_config changes, task kind)
    "bert-seq": ({}, SEQUENCE_CLASSIFICATION),
    "bert-tok": ({}, TOKEN_CLASSIFICATION),
    "bert-multi": ({}, MULTI_LABEL_CLASSIFICATION),
    "distilbert-seq": (DISTILBERT, SEQUENCE_CLASSIFICATION),
    "distilbert-tok": (DISTILBERT, TOKEN_CLASSIFICATION),
    "distilbert-multi": (DISTILBERT, MULTI_LABEL_CLASSIFICATION),
}


def random_weights(shapes, seed):
    """Embeddings N(0,1), kernels N(0, 1/fan_in), LayerNorm around (1, 0), biases small: probabilities spread."""
    rng = np.random.RandomState(seed)
    weights = {}
    for name, shape in shapes.items():
        if name.endswith("gamma"):
            value = 1.0 + 0.2 * rng.standard_normal(shape)
        elif name.endswith(("beta", "bias")):
            value = 0.2 * rng.standard_normal(shape)
        elif name.endswith("kernel"):
            value = rng.standard_normal(shape) / np.sqrt(shape[0])
        elif name == "output_weights":
            value = 3.0 * rng.standard_normal(shape) / np.sqrt(shape[1])
        else:
            value = rng.standard_normal(shape)
        weights[name] = value.astype(np.float32)
    return weights


def write_run(run_dir, bert_config, kind, labels, seed):
    """A run directory as run_classifier.py / run_ner.py leave it: model.ckpt-N with Adam slots, labels, kind."""
    from bert_runner import labels as run_labels
    from pretrained import checkpoint, layout

    os.makedirs(run_dir)
    weights = random_weights(layout.expected_variables(bert_config, kind, len(labels)), seed)
    slots = {"%s/adam_%s" % (name, slot): np.zeros_like(value) for name, value in weights.items() for slot in "mv"}
    checkpoint.write_checkpoint(dict(weights, **slots), run_dir, checkpoint.RUN_CHECKPOINT_NAME, global_step=7)
    run_labels.save_labels(run_dir, labels)
    run_labels.save_run_kind(run_dir, kind)
    return weights


def cli(*argv):
    """`python -m pretrained ...` in this process: (exit status, stdout, stderr)."""
    from pretrained.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue().strip(), err.getvalue().strip()


@pytest.fixture(scope="session")
def tiny_runs(tiny_vocab_file, tmp_path_factory):
    """The four runs with random weights, each exported (no training) and exported again with export-hf."""
    import tiny_bert

    from bert_runner.options import RunOptions
    from bert_runner.run import run
    from bert_runner.token_classification import TokenClassification
    from featurizer import load_vocab

    root = tmp_path_factory.mktemp("hf_export")
    runs = {}
    for seed, (name, (changes, kind)) in enumerate(sorted(MODELS.items())):
        config = dict(tiny_bert.bert_config(len(load_vocab(tiny_vocab_file))), **changes)
        config_file = str(root / (name + ".json"))
        with open(config_file, "w") as f:
            json.dump(config, f)
        run_dir = str(root / name / "run")
        labels, task_name = KINDS[kind]
        weights = write_run(run_dir, config, kind, labels, seed)
        if name == "bert-multi":  # as --do_eval --tune_thresholds leaves them for the checkpoint of step 7
            with open(os.path.join(run_dir, "thresholds.json"), "w") as f:
                json.dump({"labels": labels, "thresholds": TUNED, "global_step": 7}, f)
        family = TokenClassification() if kind == TOKEN_CLASSIFICATION else None  # run_ner.py's
        pairs = {} if family else {"text_b_column": "text_b"}  # the classifiers take sentence pairs
        run(RunOptions(do_export=True, output_dir=run_dir, bert_config_file=config_file, vocab_file=tiny_vocab_file,
                       max_seq_length=MAX_SEQ_LENGTH, task_name=task_name, tune_thresholds=name == "bert-multi",
                       **pairs), family)
        hf_dir = str(root / name / "hf")
        status, out, err = cli("export-hf", "--export_dir", os.path.join(run_dir, "export"), "--hf_dir", hf_dir,
                               "--bert_config_file", config_file)
        assert status == 0, err
        assert out == hf_dir
        runs[name] = dict(kind=kind, run_dir=run_dir, hf_dir=hf_dir, config_file=config_file, weights=weights,
                          labels=labels, architecture=config.get("architecture", "bert"))
    return runs


@pytest.fixture(scope="session")
def served(tiny_runs, tmp_path_factory):
    from model_servers import running_server

    config_file = tmp_path_factory.mktemp("hf_export_server") / "models.config"
    config_file.write_text("model_config_list { %s }" % " ".join(
        'config { name: "%s" base_path: "%s" model_platform: "tensorflow" }'
        % (name, os.path.join(run["run_dir"], "export")) for name, run in tiny_runs.items()))
    with running_server(["--model_config_file=%s" % config_file]) as server:
        yield server


@pytest.fixture(scope="session")
def transformers_answers(tf2_python, tiny_runs, tmp_path_factory):
    """What transformers makes of each exported directory (bench/hf_transformers.py under TF2_PYTHON)."""
    root = tmp_path_factory.mktemp("hf_export_check")
    models = []
    for name, run in sorted(tiny_runs.items()):
        models.append(dict(name=name, dir=run["hf_dir"], texts=TEXTS, pairs=None,
                           pipeline=run["kind"] != TOKEN_CLASSIFICATION))
        if name in ("bert-seq", "bert-multi"):
            models.append(dict(name=name + "-pairs", dir=run["hf_dir"], texts=TEXTS, pairs=PAIRS))
    spec, out = str(root / "spec.json"), str(root / "out.json")
    with open(spec, "w") as f:
        json.dump({"models": models}, f)
    result = subprocess.run([tf2_python, CHECKER, spec, out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    assert result.returncode == 0, result.stdout[-4000:]
    with open(out) as f:
        return json.load(f)["models"]


def _client(server, name):
    from serving_client import ServingClient

    return ServingClient(server.rest_url, name)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_transformers_loads_every_weight_and_the_configured_head(transformers_answers, tiny_runs, name):
    answer, run = transformers_answers[name], tiny_runs[name]
    log = "\n".join(answer["log"])
    for complaint in ("were not used", "not initialized", "newly initialized", "missing", "unexpected"):
        assert complaint not in log, log
    assert "All PyTorch model weights were used" in log and "were initialized from the PyTorch model" in log, log
    prefix = "Bert" if run["architecture"] == "bert" else "DistilBert"
    suffix = "ForTokenClassification" if run["kind"] == TOKEN_CLASSIFICATION else "ForSequenceClassification"
    assert answer["model"] == "TF" + prefix + suffix and answer["config"]["architectures"] == [prefix + suffix]
    assert answer["tokenizer"] == prefix + "TokenizerFast"  # tokenizer.json
    config = answer["config"]
    assert [config["id2label"][str(i)] for i in range(len(run["labels"]))] == run["labels"]
    assert config["label2id"] == {label: i for i, label in enumerate(run["labels"])}
    assert config["problem_type"] == {SEQUENCE_CLASSIFICATION: "single_label_classification", TOKEN_CLASSIFICATION: None,
                                      MULTI_LABEL_CLASSIFICATION: "multi_label_classification"}[run["kind"]]
    assert config.get("thresholds") == (dict(zip(MULTI_LABELS, TUNED)) if name == "bert-multi" else None)
    activation = config["hidden_act" if run["architecture"] == "bert" else "activation"]
    assert activation == ("gelu_new" if run["architecture"] == "bert" else "gelu")  # tanh GELU / exact GELU


@pytest.mark.parametrize("name", sorted(MODELS) + ["bert-seq-pairs", "bert-multi-pairs"])
def test_tokenizer_ids_equal_the_featurizers(transformers_answers, served, name):
    answer = transformers_answers[name]
    client = _client(served, name.replace("-pairs", ""))
    assert client.model_info.max_seq_length == MAX_SEQ_LENGTH
    pairs = PAIRS if name.endswith("pairs") else None
    assert [e.input_ids for e in client.featurizer.encode_batch(TEXTS, pairs)] == answer["input_ids"]


@pytest.mark.parametrize("name", ["bert-seq", "bert-seq-pairs", "distilbert-seq"])
def test_sequence_probabilities_equal_the_served_ones(transformers_answers, served, name):
    answer = transformers_answers[name]
    client = _client(served, name.replace("-pairs", ""))
    predictions = client.predict_batch(TEXTS, PAIRS if name.endswith("pairs") else None)
    served_probabilities = np.array([[p.probabilities[label] for label in client.labels] for p in predictions])
    hf = np.array(answer["probabilities"])
    assert hf.std() > 0.05, hf  # spread out: the comparison means something
    worst = float(np.abs(served_probabilities - hf).max())
    print("%s: max |transformers - served| = %.2e" % (name, worst))
    assert worst < TOLERANCE
    if "pipeline" in answer:  # transformers.pipeline("text-classification") names the client's label
        assert [label for label, _ in answer["pipeline"]] == [p.label for p in predictions]
        np.testing.assert_allclose([score for _, score in answer["pipeline"]], [p.score for p in predictions],
                                   atol=TOLERANCE)


@pytest.mark.parametrize("name", ["bert-multi", "bert-multi-pairs", "distilbert-multi"])
def test_multi_label_sigmoids_equal_the_served_ones(transformers_answers, served, name):
    """problem_type multi_label_classification: transformers' sigmoid(logits) are the served scores, and the labels
    reaching config.json's thresholds (0.5 without) are the client's answer."""
    answer = transformers_answers[name]
    client = _client(served, name.replace("-pairs", ""))
    predictions = client.predict_batch(TEXTS, PAIRS if name.endswith("pairs") else None)
    served_scores = np.array([[p.scores[label] for label in MULTI_LABELS] for p in predictions])
    hf = np.array(answer["probabilities"])
    assert hf.std() > 0.05, hf
    worst = float(np.abs(served_scores - hf).max())
    print("%s: max |transformers - served| = %.2e" % (name, worst))
    assert worst < TOLERANCE
    thresholds = answer["config"].get("thresholds") or dict.fromkeys(MULTI_LABELS, 0.5)
    for row, prediction in zip(hf, predictions):
        assert {label for label, p in zip(MULTI_LABELS, row) if p >= thresholds[label]} == set(prediction.labels)
    if "pipeline" in answer:  # pipeline("text-classification", top_k=None) applies the sigmoid itself
        np.testing.assert_allclose([[scores[label] for label in MULTI_LABELS] for scores in answer["pipeline"]],
                                   served_scores, atol=TOLERANCE)


@pytest.mark.parametrize("name", ["bert-tok", "distilbert-tok"])
def test_token_probabilities_equal_the_served_ones(transformers_answers, served, name):
    import requests

    from featurizer import pad_batch

    answer = transformers_answers[name]
    client = _client(served, name)
    batch = pad_batch(client.featurizer.encode_batch(TEXTS), client.sequence_length)
    batch["label_ids"] = [[0] * client.sequence_length for _ in TEXTS]
    response = requests.post("%s/v1/models/%s:predict" % (served.rest_url, name), json={"inputs": batch}, timeout=30)
    assert response.status_code == 200, response.text
    outputs = response.json()["outputs"]
    worst, spread = 0.0, []
    for row, hf in zip(outputs, answer["probabilities"]):
        hf = np.array(hf)  # the real tokens' rows
        worst = max(worst, float(np.abs(np.array(row)[:len(hf)] - hf).max()))
        spread.extend(hf.ravel())
    print("%s: max |transformers - served| = %.2e" % (name, worst))
    assert np.std(spread) > 0.05 and worst < TOLERANCE


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_run_directory_exports_the_same_files(tiny_runs, tiny_vocab_file, tmp_path, name):
    """--output_dir with the run's flags (pasted as `pretrained fetch` prints them) equals --export_dir."""
    run = tiny_runs[name]
    hf_dir = str(tmp_path / "from_run")
    status, _, err = cli("export-hf", "--output_dir", run["run_dir"], "--hf_dir", hf_dir,
                         "--bert_config_file", run["config_file"], "--vocab_file", tiny_vocab_file,
                         "--init_checkpoint", "/ignored/bert_model.ckpt", "--do_lower_case=true",
                         "--max_seq_length", str(MAX_SEQ_LENGTH))
    assert status == 0, err
    assert sorted(os.listdir(hf_dir)) == sorted(os.listdir(run["hf_dir"]))
    for file_name in os.listdir(hf_dir):
        with open(os.path.join(hf_dir, file_name), "rb") as a, open(os.path.join(run["hf_dir"], file_name), "rb") as b:
            assert a.read() == b.read(), file_name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_import_of_the_export_gives_bit_identical_weights(tiny_runs, tmp_path, name):
    """import(export(x)) == x, every variable the model computes with (a BERT tagger's unused pooler is left out)."""
    import tensorflow.compat.v1 as tf

    run = tiny_runs[name]
    status, out, err = cli("import", "--hf_dir", run["hf_dir"], "--output_dir", str(tmp_path / "imported"))
    assert status == 0, err
    flags = dict(line[2:].split("=", 1) for line in out.splitlines())
    assert flags["max_seq_length"] == str(MAX_SEQ_LENGTH) and flags["do_lower_case"] == "true"
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(flags["output_dir"]))
    imported = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map() if name != "global_step"}
    pooler = {"bert/pooler/dense/kernel", "bert/pooler/dense/bias"}
    unused = pooler if name == "bert-tok" else set()
    assert set(imported) - unused == set(run["weights"]) - unused
    for variable in set(run["weights"]) - unused:
        assert imported[variable].dtype == np.float32
        np.testing.assert_array_equal(imported[variable], run["weights"][variable], err_msg=variable)
    with open(os.path.join(flags["output_dir"], "label_list.txt")) as f:
        assert f.read().split() == run["labels"]
    if name == "bert-multi":  # the tuned thresholds come back, for the run_classifier.py export the flags name
        assert flags["task_name"] == "multilabel" and flags["tune_thresholds"] == "true"
        with open(os.path.join(flags["output_dir"], "thresholds.json")) as f:
            assert json.load(f)["thresholds"] == TUNED


@pytest.mark.parametrize("name", ["bert-seq", "bert-tok", "bert-multi", "distilbert-seq", "distilbert-tok",
                                  "distilbert-multi"])
def test_export_of_an_imported_model_gives_back_its_tensors(hf_models, tmp_path, name):
    """export(import(hf)) == hf in PyTorch layout; a tagger's classifier rows follow the labels (the import put
    them in the NER family's order, and id2label says so)."""
    from pretrained.hf_weights import read_weights

    model = hf_models["models"][name]
    original, _ = read_weights(os.path.join(model["dirs"]["safetensors"], "model.safetensors"))
    status, out, err = cli("import", "--hf_dir", model["dirs"]["safetensors"], "--output_dir", str(tmp_path / "run"))
    assert status == 0, err
    flags = dict(line[2:].split("=", 1) for line in out.splitlines())
    status, _, err = cli("export-hf", "--output_dir", flags["output_dir"], "--hf_dir", str(tmp_path / "hf"),
                         "--bert_config_file", flags["bert_config_file"], "--vocab_file", flags["vocab_file"])
    assert status == 0, err
    exported = load_file(str(tmp_path / "hf" / "model.safetensors"))
    with open(str(tmp_path / "hf" / "config.json")) as f:
        id2label = json.load(f)["id2label"]
    assert set(exported) == set(original)
    rows = [int({label: i for i, label in model["id2label"].items()}[id2label[str(i)]]) for i in range(len(id2label))]
    for tensor in original:
        want = original[tensor][rows] if tensor.startswith("classifier.") else original[tensor]
        np.testing.assert_array_equal(exported[tensor], want, err_msg=tensor)



def test_names_config_and_activation_tables_read_both_ways(tiny_runs):
    """Every variable's Hugging Face name maps back to it; bert_config -> config.json -> bert_config is the same."""
    from pretrained import layout
    from pretrained.hf_config import HF_ACTIVATIONS, bert_config_from_hf, hf_config_from_bert

    assert HF_ACTIVATIONS["gelu_exact"] == "gelu" and HF_ACTIVATIONS["gelu"] == "gelu_new"
    for run in tiny_runs.values():
        with open(run["config_file"]) as f:
            config = json.load(f)
        for name in layout.expected_variables(config, run["kind"], len(run["labels"])):
            hf_name, transpose = layout.hf_name_for(name, layout.is_distilbert(config))
            assert layout.tf_name_for(hf_name) == (name, transpose)
        assert bert_config_from_hf(hf_config_from_bert(config, "x"), "x")[0] == config


def _refusal(*argv):
    status, out, err = cli(*argv)
    lines = err.splitlines()
    assert status == 1 and out == "" and lines and lines[-1].startswith("error: "), (status, out, err)
    return lines[-1]


def test_a_task_kind_transformers_lacks_is_refused(tiny_runs, tiny_vocab_file, tmp_path):
    import shutil

    run = tiny_runs["bert-seq"]
    run_dir = str(tmp_path / "run")
    shutil.copytree(run["run_dir"], run_dir, ignore=shutil.ignore_patterns("export"))
    with open(os.path.join(run_dir, "task_kind.txt"), "w") as f:
        f.write("question_answering\n")
    line = _refusal("export-hf", "--output_dir", run_dir, "--hf_dir", str(tmp_path / "hf"),
                    "--bert_config_file", run["config_file"], "--vocab_file", tiny_vocab_file)
    assert "task kind 'question_answering' has no Hugging Face class (exportable: sequence_classification" in line
    assert not os.path.exists(str(tmp_path / "hf"))


def test_a_config_that_does_not_fit_the_weights_is_refused(tiny_runs, tmp_path):
    run = tiny_runs["distilbert-seq"]
    with open(run["config_file"]) as f:
        config = dict(json.load(f), intermediate_size=48)
    config_file = str(tmp_path / "other.json")
    with open(config_file, "w") as f:
        json.dump(config, f)
    line = _refusal("export-hf", "--export_dir", os.path.join(run["run_dir"], "export"), "--hf_dir",
                    str(tmp_path / "hf"), "--bert_config_file", config_file)
    assert "does not fit --bert_config_file=%s and its 3 labels: " % config_file in line
    assert "bert/encoder/layer_0/intermediate/dense/kernel is [32, 64], not [32, 48]" in line


def test_a_config_with_the_other_gelu_is_refused(tiny_runs, tmp_path):
    """Shapes fit either GELU; the export's graph says which one it computes (Erf: the exact one)."""
    for name, wrong in (("distilbert-seq", "gelu"), ("bert-tok", "gelu_exact")):
        run = tiny_runs[name]
        with open(run["config_file"]) as f:
            config = dict(json.load(f), hidden_act=wrong)
        config_file = str(tmp_path / (name + ".json"))
        with open(config_file, "w") as f:
            json.dump(config, f)
        line = _refusal("export-hf", "--export_dir", os.path.join(run["run_dir"], "export"), "--hf_dir",
                        str(tmp_path / name), "--bert_config_file", config_file)
        assert "--bert_config_file=%s says hidden_act %r, but the export computes %s" % (
            config_file, wrong, "the exact (erf) GELU" if wrong == "gelu" else "no exact (erf) GELU") in line


def test_a_checkpoint_without_the_head_is_refused(tiny_runs, tiny_vocab_file, tmp_path):
    from bert_runner import labels
    from pretrained import checkpoint

    run = tiny_runs["bert-tok"]
    encoder = {name: value for name, value in run["weights"].items() if not name.startswith("output_")}
    checkpoint.write_checkpoint(encoder, str(tmp_path))
    labels.save_labels(str(tmp_path), run["labels"])
    line = _refusal("export-hf", "--output_dir", str(tmp_path), "--hf_dir", str(tmp_path / "hf"),
                    "--checkpoint", str(tmp_path / "bert_model.ckpt"), "--bert_config_file", run["config_file"],
                    "--vocab_file", tiny_vocab_file)
    assert "lacks 2 variable(s) a sequence classification with --bert_config_file=%s has: output_weights, " \
           "output_bias" % run["config_file"] in line


@pytest.mark.parametrize("case", ["not_empty", "no_export", "other_vocab", "other_casing", "no_vocab_flag", "no_labels"])
def test_bad_sources_and_targets_are_one_line(tiny_runs, tmp_path, case):
    run = tiny_runs["bert-seq"]
    export_dir = os.path.join(run["run_dir"], "export")
    hf_dir = str(tmp_path / "hf")
    source = ["--export_dir", export_dir]
    extra = []
    if case == "not_empty":
        os.makedirs(hf_dir)
        open(os.path.join(hf_dir, "keep.txt"), "w").close()
        want = "--hf_dir=%s exists and is not empty (add --force to replace it)" % hf_dir
    elif case == "no_export":
        source = ["--export_dir", str(tmp_path)]
        want = "--export_dir=%s holds no saved_model.pb and no numeric version directory with one" % tmp_path
    elif case == "other_vocab":
        other = tmp_path / "vocab.txt"
        other.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n")
        extra = ["--vocab_file", str(other)]
        want = "--export_dir: featurizer does not match the model: vocab sha256"
    elif case == "other_casing":
        extra = ["--do_lower_case=false"]
        want = "do_lower_case=False but the model was trained with do_lower_case=True"
    elif case == "no_vocab_flag":
        source = ["--output_dir", run["run_dir"]]
        want = "--output_dir needs --vocab_file (the vocab the run was trained with)"
    else:
        source, extra = ["--output_dir", str(tmp_path)], ["--vocab_file", "v.txt"]
        want = "--output_dir=%s has no label_list.txt: not a run directory of run_classifier.py or run_ner.py" % tmp_path
    line = _refusal("export-hf", *source, "--hf_dir", hf_dir, "--bert_config_file", run["config_file"], *extra)
    assert want in line


def test_thresholds_tuned_for_another_checkpoint_are_refused(tiny_runs, tiny_vocab_file, tmp_path):
    import shutil

    run = tiny_runs["bert-multi"]
    run_dir = str(tmp_path / "run")
    shutil.copytree(run["run_dir"], run_dir, ignore=shutil.ignore_patterns("export"))
    with open(os.path.join(run_dir, "thresholds.json"), "w") as f:
        json.dump({"labels": MULTI_LABELS, "thresholds": TUNED, "global_step": 3}, f)
    line = _refusal("export-hf", "--output_dir", run_dir, "--hf_dir", str(tmp_path / "hf"),
                    "--bert_config_file", run["config_file"], "--vocab_file", tiny_vocab_file)
    assert "thresholds.json was tuned for labels %s at step 3, not for " % MULTI_LABELS in line
    assert "model.ckpt-7 (labels" in line


def test_a_classifier_reading_the_token_mean_is_refused(tiny_runs, tiny_vocab_file, tmp_path):
    """transformers' sequence classes read the first token; a --pooling=mean head has no class there."""
    import shutil

    from bert_runner.options import RunOptions
    from bert_runner.run import run

    source = tiny_runs["bert-seq"]
    run_dir = str(tmp_path / "run")
    shutil.copytree(source["run_dir"], run_dir, ignore=shutil.ignore_patterns("export"))
    with open(os.path.join(run_dir, "pooling.txt"), "w") as f:
        f.write("mean\n")  # as a run with --pooling=mean leaves it
    labels, task_name = KINDS[source["kind"]]
    run(RunOptions(do_export=True, output_dir=run_dir, bert_config_file=source["config_file"],
                   vocab_file=tiny_vocab_file, max_seq_length=MAX_SEQ_LENGTH, task_name=task_name,
                   text_b_column="text_b"))
    wanted = ("the classifier reads the mean of the token vectors (pooling mean), and Hugging Face's "
              "BertForSequenceClassification reads the first token: fine-tune with --pooling=cls")
    line = _refusal("export-hf", "--export_dir", os.path.join(run_dir, "export"), "--hf_dir", str(tmp_path / "a"),
                    "--bert_config_file", source["config_file"])
    assert wanted in line
    line = _refusal("export-hf", "--output_dir", run_dir, "--hf_dir", str(tmp_path / "b"),
                    "--bert_config_file", source["config_file"], "--vocab_file", tiny_vocab_file)
    assert wanted in line
    assert not os.path.exists(str(tmp_path / "a")) and not os.path.exists(str(tmp_path / "b"))
