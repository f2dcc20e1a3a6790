"""`python -m pretrained import` refuses what it cannot reproduce with one line naming the field or tensors."""

import json
import os

import numpy as np
import pytest

from pretrained import ConversionError, convert
from pretrained.cli import main

SEQUENCE = {"architectures": ["BertForSequenceClassification"], "id2label": {"0": "ham", "1": "spam"}}


def _with_head(weights, labels=2, hidden=32):
    rng = np.random.RandomState(1)
    return dict(weights, **{"classifier.weight": rng.standard_normal((labels, hidden)).astype(np.float32),
                            "classifier.bias": np.zeros(labels, np.float32)})


def _without(weights, *names):
    return {k: v for k, v in weights.items() if k not in names}


def _edit_json(path, **changes):
    with open(path) as f:
        data = json.load(f)
    data.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del data[key]
    with open(path, "w") as f:
        json.dump(data, f)


def test_cli_prints_one_error_line(tiny_hf, tmp_path, capsys):
    hf_dir, _, _ = tiny_hf(model_type="roberta")
    assert main(["import", "--hf_dir", hf_dir, "--output_dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert "model_type is 'roberta'; supported: bert, distilbert" in err[0]


@pytest.mark.parametrize("changes,message", [
    ({"architectures": ["BertForQuestionAnswering"]},
     "architecture BertForQuestionAnswering is not supported (heads: BertForSequenceClassification, "),
    (dict(SEQUENCE, problem_type="regression"),
     "problem_type 'regression' is not supported (supported: single_label_classification, multi_label_classification"),
    (dict(SEQUENCE, id2label={"0": "score"}), "problem_type 'regression' is not supported"),
    ({"architectures": ["BertForTokenClassification"], "id2label": {"0": "O", "1": "B-per"}},
     "id2label lacks the tag(s) I-per"),
    ({"architectures": ["BertForTokenClassification"], "id2label": {"0": "O", "1": "PER"}},
     "token classification needs IOB2 tags"),
    (dict(SEQUENCE, id2label={"0": "a", "1": "a"}), "id2label names a more than once"),
    (dict(SEQUENCE, problem_type="multi_label_classification", thresholds={"ham": 0.3}),
     "thresholds must give every label of id2label a probability in [0, 1], got {'ham': 0.3}"),
])
def test_unsupported_heads_are_refused_naming_what_is_supported(tiny_hf, tmp_path, changes, message):
    hf_dir, _, _ = tiny_hf(**changes)
    with pytest.raises(ConversionError) as caught:
        convert(hf_dir, str(tmp_path / "out"), heads=True)
    assert message in str(caught.value) and "config.json" in str(caught.value)


def test_unexpected_and_missing_tensors_are_listed(tiny_hf, tmp_path):
    extra = {"classifier.weight_orig": np.zeros((2, 32), np.float32), "bert.adapter.down.weight": np.zeros(3, np.float32)}
    hf_dir, _, _ = tiny_hf(edit=lambda w: dict(_with_head(w), **extra), **SEQUENCE)
    with pytest.raises(ConversionError) as caught:
        convert(hf_dir, str(tmp_path / "out"), heads=True)
    assert "2 unexpected tensor(s) that no variable takes: bert.adapter.down.weight, classifier.weight_orig" \
        in str(caught.value)
    hf_dir, _, _ = tiny_hf("missing", edit=lambda w: _without(_with_head(w), "classifier.bias",
                                                              "encoder.layer.0.output.dense.weight"), **SEQUENCE)
    with pytest.raises(ConversionError, match="lacks 2 tensor\\(s\\) the model needs: "
                                              "bert/encoder/layer_0/output/dense/kernel, output_bias"):
        convert(hf_dir, str(tmp_path / "out2"), heads=True)


def test_a_head_that_does_not_fit_id2label_is_a_shape_error(tiny_hf, tmp_path):
    hf_dir, _, _ = tiny_hf(edit=lambda w: _with_head(w, labels=3), **SEQUENCE)
    with pytest.raises(ConversionError, match="classifier.weight has shape \\[3, 32\\], the config needs \\[2, 32\\] "
                                              "for output_weights"):
        convert(hf_dir, str(tmp_path / "out"), heads=True)


@pytest.mark.parametrize("changes,message", [
    ({"strip_accents": False}, "strip_accents=false with do_lower_case=true is not supported"),
    ({"do_lower_case": False, "strip_accents": True}, "strip_accents=true with do_lower_case=false"),
    ({"tokenize_chinese_chars": False}, "tokenize_chinese_chars=false is not supported"),
    ({"unk_token": "<unk>"}, "unk_token '<unk>' is not supported (the featurizer uses [UNK])"),
    ({"cls_token": {"content": "<s>"}}, "cls_token '<s>' is not supported"),
    ({"tokenizer_class": "RobertaTokenizer"}, "tokenizer_class 'RobertaTokenizer' is not supported"),
    ({"do_basic_tokenize": False}, "do_basic_tokenize=false is not supported"),
    ({"never_split": ["[FOO]"]}, "never_split"),
])
def test_tokenizer_settings_the_featurizer_cannot_reproduce_are_refused(tiny_hf, tmp_path, changes, message):
    hf_dir, _, _ = tiny_hf()
    _edit_json(os.path.join(hf_dir, "tokenizer_config.json"), **changes)
    with pytest.raises(ConversionError) as caught:
        convert(hf_dir, str(tmp_path / "out"), heads=True)
    assert message in str(caught.value) and "tokenizer_config.json" in str(caught.value)


def test_pytorch_bin_without_torch_is_one_clear_message(tiny_hf, tmp_path):
    pytest.importorskip("safetensors")
    try:
        import torch  # noqa: F401
        pytest.skip("torch is installed")
    except ImportError:
        pass
    hf_dir, _, _ = tiny_hf()
    os.rename(os.path.join(hf_dir, "model.safetensors"), os.path.join(hf_dir, "pytorch_model.bin"))
    with pytest.raises(ConversionError, match="pytorch_model.bin needs PyTorch to read; install torch, or save the "
                                              "model with save_pretrained\\(..., safe_serialization=True\\)"):
        convert(hf_dir, str(tmp_path / "out"), heads=True)
    os.remove(os.path.join(hf_dir, "pytorch_model.bin"))
    with pytest.raises(ConversionError, match="holds no weights \\(looked for model.safetensors, tf_model.h5, "
                                              "pytorch_model.bin\\)"):
        convert(hf_dir, str(tmp_path / "out"), heads=True)


@pytest.mark.needs_tf
def test_a_pretraining_head_is_dropped_and_listed(tiny_hf, tmp_path):
    extra = {"cls.predictions.bias": np.zeros(5, np.float32)}
    hf_dir, _, _ = tiny_hf(edit=lambda w: dict(w, **extra), architectures=["BertForPreTraining"])
    manifest = convert(hf_dir, str(tmp_path / "out"), heads=True)
    assert manifest["head"] is None and manifest["dropped_head"] == ["cls.predictions.bias"]
    assert manifest["unmapped"] == []
