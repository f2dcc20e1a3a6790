"""A classifier and a tagger fine-tuned here, exported to Hugging Face: transformers against the local server.

    .venv/bin/python -m bench.hf_export --classifier_export DIR --tagger_export DIR [--texts 200]

Each export (an `--export_dir` of run_classifier.py / run_ner.py, e.g. the demo's
runs/demo-cls/export from `scripts.demo --pooling=cls`, and a MiniLM tagger fine-tuned on
WNUT-17) is written as a Hugging Face directory by `python -m pretrained export-hf` and served, as it is, by the local model
server. On the first N SMS test texts (classifier) and WNUT-17 test sentences (tagger,
words joined by spaces) it compares, with transformers 4.46's TF classes in .venv-tf2
(bench/hf_transformers.py; TF2_PYTHON, default .venv-tf2/bin/python):

- ids: AutoTokenizer's against the featurizer's (truncated to max_seq_length);
- probabilities: max |softmax(logits) - served| over every text (tagger: every real token
  of the texts that fit one window);
- answers: `pipeline("text-classification")` (truncation on) label and score against
  `ServingClient.predict_batch`; `pipeline("token-classification", aggregation_strategy=
  "first")` entity spans (start, end, type) and scores against `ServingClient.entities_batch`.
  Every text whose answers differ is listed with both answers.

Writes bench/results/hf_export.json and prints a summary; figures in README.md ("Take your
model to Hugging Face").
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.path.join(REPO, "..", "shared", "data")
WORKER = os.path.join(HERE, "hf_transformers.py")
DEFAULT_RESULTS_DIR = os.path.join(HERE, "results")
CHUNK = 32


def sms_texts(count):
    with open(os.path.join(SHARED, "sms_spam", "test.tsv"), encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row[1] for row in rows[1:count + 1]]


def wnut_texts(count):
    from tagging import read_conll

    return [" ".join(sentence.words) for sentence in read_conll(os.path.join(SHARED, "wnut17", "test.conll"))[:count]]


def export_hf(export_dir, hf_dir, bert_config_file):
    from pretrained.cli import main

    if main(["export-hf", "--export_dir", export_dir, "--hf_dir", hf_dir, "--bert_config_file", bert_config_file,
             "--force"]) != 0:
        sys.exit("export-hf failed for %s" % export_dir)


def pipeline_stride(export_dir, bert_config_file):
    """The token-classification pipeline's `stride` (tokens two windows share) for the export's doc_stride
    (tokens between window starts): long texts are then cut into the windows the client cuts."""
    from pretrained import trained_model

    info = trained_model.from_export(export_dir, bert_config_file).info
    return info.max_seq_length - 2 - info.doc_stride


def transformers_answers(tf2_python, models, work_dir):
    spec, out = os.path.join(work_dir, "spec.json"), os.path.join(work_dir, "transformers.json")
    with open(spec, "w", encoding="utf-8") as f:
        json.dump({"models": models}, f)
    started = time.time()
    result = subprocess.run([tf2_python, WORKER, spec, out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    if result.returncode != 0:
        sys.exit("transformers failed:\n" + result.stdout[-4000:])
    with open(out, encoding="utf-8") as f:
        answers = json.load(f)
    answers["seconds"] = time.time() - started
    return answers


def weight_complaints(log):
    """transformers' loading messages that would mean a missing or unused weight."""
    return [line for line in log if "not used" in line or "not initialized" in line or "newly initialized" in line]


def compare_classifier(client, texts, hf):
    predictions = client.predict_batch(texts)
    served = np.array([[p.probabilities[label] for label in client.labels] for p in predictions])
    probabilities = np.array(hf["probabilities"])
    ids = [encoded.input_ids for encoded in client.featurizer.encode_batch(texts)]
    differ = []
    for index, (prediction, (label, score)) in enumerate(zip(predictions, hf["pipeline"])):
        if label != prediction.label:
            differ.append({"index": index, "text": texts[index], "client": [prediction.label, prediction.score],
                           "pipeline": [label, score]})
    return {
        "texts": len(texts),
        "same_ids": sum(a == b for a, b in zip(ids, hf["input_ids"])),
        "max_abs_probability_diff": float(np.abs(served - probabilities).max()),
        "same_label": len(texts) - len(differ),
        "max_abs_score_diff": max(abs(p.score - score) for p, (_, score) in zip(predictions, hf["pipeline"])),
        "differ": differ,
        "weight_complaints": weight_complaints(hf["log"]),
    }


def served_token_probabilities(server, name, client, texts):
    """The tagger's served per-token probabilities for each text's first window (as the featurizer truncates)."""
    from featurizer import pad_batch

    rows = []
    for start in range(0, len(texts), CHUNK):
        encoded = client.featurizer.encode_batch(texts[start:start + CHUNK])
        batch = pad_batch(encoded, client.sequence_length)
        batch["label_ids"] = [[0] * len(batch["input_ids"][0]) for _ in encoded]
        response = requests.post("%s/v1/models/%s:predict" % (server.rest_url, name), json={"inputs": batch},
                                 timeout=120)
        response.raise_for_status()
        rows.extend(np.array(row)[:len(e.input_ids)] for row, e in zip(response.json()["outputs"], encoded))
    return rows


def compare_tagger(server, name, client, texts, hf):
    tagged = client.entities_batch(texts)
    served = served_token_probabilities(server, name, client, texts)
    ids = [encoded.input_ids for encoded in client.featurizer.encode_batch(texts)]
    window = client.model_info.max_seq_length - 2
    one_window = {i for i, text in enumerate(texts) if len(client.featurizer.tokenize(text)) <= window}
    worst = max(float(np.abs(served[i] - np.array(hf["probabilities"][i])).max()) for i in one_window)
    differ, same, score_diff = [], 0, 0.0
    for index, (result, entities) in enumerate(zip(tagged, hf["pipeline"])):
        mine = [(e.start, e.end, e.label) for e in result.entities]
        theirs = [(start, end, group) for group, start, end, _ in entities]
        if mine == theirs:
            same += 1
            score_diff = max([score_diff] + [abs(e.score - s) for e, (_, _, _, s) in zip(result.entities, entities)])
        else:
            differ.append({"index": index, "text": texts[index], "client": mine, "pipeline": theirs,
                           "windowed": index not in one_window})
    return {
        "texts": len(texts),
        "one_window_texts": len(one_window),
        "same_ids": sum(a == b for a, b in zip(ids, hf["input_ids"])),
        "max_abs_probability_diff": worst,
        "same_spans": same,
        "same_spans_one_window": len(one_window) - sum(not row["windowed"] for row in differ),
        "entities_client": sum(len(t.entities) for t in tagged),
        "entities_pipeline": sum(len(e) for e in hf["pipeline"]),
        "max_abs_score_diff_same_spans": score_diff,
        "differ": differ,
        "weight_complaints": weight_complaints(hf["log"]),
    }


def main(argv=None):
    from pretrained.fetch import default_cache_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--classifier_export", required=True, help="a sequence classifier's export directory")
    parser.add_argument("--tagger_export", required=True, help="a token classifier's export directory")
    parser.add_argument("--bert_config_file", default=os.path.join(default_cache_dir(), "bert_config.json"),
                        help="the models' bert_config.json (default: the converted all-MiniLM-L6-v2's)")
    parser.add_argument("--texts", type=int, default=200, help="texts of each kind (default: %(default)s)")
    parser.add_argument("--tf2_python", default=os.environ.get("TF2_PYTHON", os.path.join(REPO, ".venv-tf2", "bin",
                                                                                         "python")))
    parser.add_argument("--results_dir", default=DEFAULT_RESULTS_DIR)
    args = parser.parse_args(argv)
    if not os.path.isdir(SHARED):
        sys.exit("../shared/data is not available")
    from model_server.launch import running_server
    from serving_client import ServingClient

    load_before = os.getloadavg()
    work_dir = tempfile.mkdtemp(prefix="hf-export-bench-")
    hf_dirs = {name: os.path.join(work_dir, name) for name in ("classifier", "tagger")}
    exports = {"classifier": args.classifier_export, "tagger": args.tagger_export}
    for name in hf_dirs:
        export_hf(exports[name], hf_dirs[name], args.bert_config_file)
    texts = {"classifier": sms_texts(args.texts), "tagger": wnut_texts(args.texts)}
    specs = [dict(name=name, dir=hf_dirs[name], texts=texts[name], pairs=None, pipeline=True) for name in hf_dirs]
    specs[1]["stride"] = pipeline_stride(exports["tagger"], args.bert_config_file)
    hf = transformers_answers(args.tf2_python, specs, work_dir)
    config = os.path.join(work_dir, "models.config")
    with open(config, "w") as f:
        f.write("model_config_list { %s }" % " ".join(
            'config { name: "%s" base_path: "%s" model_platform: "tensorflow" }' % (name, os.path.abspath(path))
            for name, path in exports.items()))
    with running_server(["--model_config_file=" + config], timeout=300) as server:
        with ServingClient(server.rest_url, "classifier") as client:
            classifier = compare_classifier(client, texts["classifier"], hf["models"]["classifier"])
        with ServingClient(server.rest_url, "tagger") as client:
            tagger = compare_tagger(server, "tagger", client, texts["tagger"], hf["models"]["tagger"])
    result = {"transformers": hf["transformers"], "tensorflow": hf["tensorflow"], "exports": exports,
              "loadavg_before": load_before, "loadavg_after": os.getloadavg(), "classifier": classifier,
              "tagger": tagger, "hf_dirs": hf_dirs}
    os.makedirs(args.results_dir, exist_ok=True)
    with open(os.path.join(args.results_dir, "hf_export.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
    print("transformers %s (TF %s); load %.1f before, %.1f after"
          % (hf["transformers"], hf["tensorflow"], load_before[0], result["loadavg_after"][0]))
    print("classifier: %(same_ids)d/%(texts)d same ids, max |p diff| %(max_abs_probability_diff).2e, "
          "%(same_label)d/%(texts)d same label (max |score diff| %(max_abs_score_diff).2e)" % classifier)
    print("tagger: %(same_ids)d/%(texts)d same ids, max |p diff| %(max_abs_probability_diff).2e over "
          "%(one_window_texts)d one-window texts, %(same_spans)d/%(texts)d same spans (%(same_spans_one_window)d/"
          "%(one_window_texts)d of those; %(entities_client)d entities "
          "client, %(entities_pipeline)d pipeline; max |score diff| %(max_abs_score_diff_same_spans).2e)" % tagger)
    for name, part in (("classifier", classifier), ("tagger", tagger)):
        for row in part["differ"]:
            print("%s differs on #%d%s %r: client %s, pipeline %s" % (
                name, row["index"], " (windowed)" if row.get("windowed") else "", row["text"][:80], row["client"],
                row["pipeline"]))
        if part["weight_complaints"]:
            print("%s: transformers complained: %s" % (name, part["weight_complaints"]))
    print("Hugging Face directories kept in %s" % work_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
