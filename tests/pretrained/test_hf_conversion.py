"""The converter writes exactly modeling.py's variables, and refuses what does not fit."""

import json
import logging
import os

import hf_reference
import numpy as np
import pytest

from pretrained import ConversionError, convert, layout, read_manifest
from pretrained.convert_hf import MANIFEST
from pretrained.hf_config import bert_config_from_hf

needs_tf = pytest.mark.needs_tf


def load_checkpoint(manifest):
    import tensorflow.compat.v1 as tf

    reader = tf.train.load_checkpoint(manifest["init_checkpoint"])
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


@needs_tf
@pytest.mark.parametrize("model_type,head", [("bert", None), ("bert", "sequence_classification"),
                                             ("distilbert", None), ("distilbert", "sequence_classification"),
                                             ("distilbert", "token_classification")])
def test_layout_is_what_the_encoder_and_head_create(tiny_hf, model_type, head):
    import tensorflow.compat.v1 as tf
    from bert import modeling

    from bert_runner.classification import output_layer
    from bert_runner.encoder import build_encoder

    _, hf_config, _ = tiny_hf(num_hidden_layers=3)
    if model_type == "distilbert":
        hf_config = hf_reference.as_distilbert_config(hf_config)
    config, _ = bert_config_from_hf(hf_config, "config.json")
    with tf.Graph().as_default():
        encoder = build_encoder(modeling.BertConfig.from_dict(config), False, tf.zeros([1, 4], tf.int32))
        if head == "sequence_classification":
            encoder.get_pooled_output()
        if head:
            output_layer(3, config["hidden_size"])
        created = {v.name[:-2]: tuple(v.shape.as_list()) for v in tf.global_variables()}
    assert created == dict(layout.expected_variables(config, head, 3))


@needs_tf
@pytest.mark.parametrize("prefix,gamma_beta", [("", False), ("bert.", False), ("", True), ("bert.", True)])
def test_name_variants_convert_to_the_same_checkpoint(tiny_hf, tmp_path, prefix, gamma_beta):
    hf_dir, _, weights = tiny_hf()
    renamed_dir, _, _ = tiny_hf("renamed", weights=hf_reference.rename(weights, prefix, gamma_beta))
    manifest = convert(renamed_dir, str(tmp_path / "tf"))
    values = load_checkpoint(manifest)

    assert manifest["unmapped"] == [] and manifest["initialised"] == []
    assert manifest["skipped_buffers"] == [prefix + "embeddings.position_ids"]
    assert manifest["converted"] == len(values)
    np.testing.assert_array_equal(values["bert/encoder/layer_1/attention/self/query/kernel"],
                                  weights["encoder.layer.1.attention.self.query.weight"].T)
    np.testing.assert_array_equal(values["bert/encoder/layer_0/output/dense/kernel"],
                                  weights["encoder.layer.0.output.dense.weight"].T)
    np.testing.assert_array_equal(values["bert/embeddings/LayerNorm/gamma"],
                                  weights["embeddings.LayerNorm.weight"])
    np.testing.assert_array_equal(values["bert/encoder/layer_1/output/LayerNorm/beta"],
                                  weights["encoder.layer.1.output.LayerNorm.bias"])
    np.testing.assert_array_equal(values["bert/embeddings/word_embeddings"],
                                  weights["embeddings.word_embeddings.weight"])
    np.testing.assert_array_equal(values["bert/pooler/dense/bias"], weights["pooler.dense.bias"])


@needs_tf
def test_writes_bert_config_vocab_and_casing(tiny_hf, tmp_path, tiny_vocab_file):
    hf_dir, hf_config, _ = tiny_hf(hidden_act="gelu")
    manifest = convert(hf_dir, str(tmp_path / "tf"), origin="unit-test")
    with open(manifest["bert_config_file"]) as f:
        config = json.load(f)
    # Hugging Face's "gelu" is the erf GELU: bert_runner's "gelu_exact" (modeling.py's "gelu" is the tanh form)
    assert config["hidden_act"] == "gelu_exact" and config["vocab_size"] == hf_config["vocab_size"]
    assert "model_type" not in config  # bert_config.json keeps modeling.BertConfig's fields only
    assert open(manifest["vocab_file"]).read() == open(tiny_vocab_file).read()
    assert manifest["do_lower_case"] is True and manifest["origin"] == "unit-test"
    assert manifest["notes"] == []
    assert read_manifest(str(tmp_path / "tf")) == manifest


@needs_tf
def test_float16_weights_become_float32(tiny_hf, tmp_path):
    hf_dir, _, _ = tiny_hf(edit=lambda w: {k: v.astype(np.float16) if v.dtype == np.float32 else v
                                           for k, v in w.items()})
    values = load_checkpoint(convert(hf_dir, str(tmp_path / "tf")))
    assert {value.dtype for value in values.values()} == {np.dtype(np.float32)}


@needs_tf
def test_reports_unmapped_tensors(tiny_hf, tmp_path, caplog):
    extra = {"cls.predictions.bias": np.zeros(3, np.float32),
             "encoder.layer.0.attention.self.rotary.weight": np.zeros((4, 4), np.float32)}
    hf_dir, _, _ = tiny_hf(edit=lambda w: dict(w, **extra))
    with caplog.at_level(logging.WARNING, logger="pretrained"):
        manifest = convert(hf_dir, str(tmp_path / "tf"))
    assert manifest["unmapped"] == sorted(extra)
    for name in extra:
        assert any(name in record.getMessage() for record in caplog.records)

    with pytest.raises(ConversionError, match="2 unexpected tensor.*cls.predictions.bias"):
        convert(hf_dir, str(tmp_path / "strict"), strict=True)


def test_refuses_a_shape_that_does_not_fit_the_config(tiny_hf, tmp_path):
    def widen(weights):
        weights["encoder.layer.1.intermediate.dense.weight"] = np.zeros((48, 32), np.float32)
        return weights

    hf_dir, _, _ = tiny_hf(edit=widen)
    with pytest.raises(ConversionError) as error:
        convert(hf_dir, str(tmp_path / "tf"))
    message = str(error.value)
    assert "encoder.layer.1.intermediate.dense.weight has shape [48, 32]" in message
    assert "[32, 48] as a TF kernel" in message
    assert "needs [32, 64] for bert/encoder/layer_1/intermediate/dense/kernel" in message
    assert not os.path.exists(str(tmp_path / "tf" / "bert_model.ckpt.index"))


def test_reports_every_missing_variable(tiny_hf, tmp_path):
    gone = ["encoder.layer.1.output.dense.bias", "embeddings.token_type_embeddings.weight"]
    hf_dir, _, _ = tiny_hf(edit=lambda w: {k: v for k, v in w.items() if k not in gone})
    with pytest.raises(ConversionError, match="lacks 2 tensor") as error:
        convert(hf_dir, str(tmp_path / "tf"))
    assert "bert/encoder/layer_1/output/dense/bias" in str(error.value)
    assert "bert/embeddings/token_type_embeddings" in str(error.value)


def test_refuses_two_tensors_for_one_variable(tiny_hf, tmp_path):
    hf_dir, _, _ = tiny_hf(edit=lambda w: dict(w, **{"bert.pooler.dense.bias": w["pooler.dense.bias"]}))
    with pytest.raises(ConversionError, match="bert.pooler.dense.bias and pooler.dense.bias both map"):
        convert(hf_dir, str(tmp_path / "tf"))


@needs_tf
def test_initialises_a_missing_pooler_like_modeling(tiny_hf, tmp_path, caplog):
    hf_dir, hf_config, _ = tiny_hf(edit=lambda w: {k: v for k, v in w.items() if not k.startswith("pooler.")})
    with caplog.at_level(logging.INFO, logger="pretrained"):
        manifest = convert(hf_dir, str(tmp_path / "tf"))
    assert manifest["initialised"] == [layout.POOLER_KERNEL, layout.POOLER_BIAS]
    assert any("has no pooler" in record.getMessage() for record in caplog.records)
    values = load_checkpoint(manifest)
    kernel = values[layout.POOLER_KERNEL]
    assert not values[layout.POOLER_BIAS].any()
    assert np.abs(kernel).max() <= 2 * hf_config["initializer_range"]
    assert 0.5 * hf_config["initializer_range"] < kernel.std() < hf_config["initializer_range"]


@needs_tf
def test_failed_reconversion_leaves_no_marker(tiny_hf, tmp_path):
    good_dir, _, _ = tiny_hf()
    convert(good_dir, str(tmp_path / "tf"))
    bad_dir, _, _ = tiny_hf("bad", edit=lambda w: dict(w, **{"pooler.dense.bias": np.zeros(7, np.float32)}))
    with pytest.raises(ConversionError):
        convert(bad_dir, str(tmp_path / "tf"))
    assert not os.path.exists(str(tmp_path / "tf" / MANIFEST))


def test_missing_input_file_is_named(tmp_path):
    with pytest.raises(ConversionError, match="missing file .*config.json"):
        convert(str(tmp_path), str(tmp_path / "tf"))


def test_vocab_larger_than_the_embedding_table_is_refused(tiny_hf, tmp_path):
    hf_dir, hf_config, _ = tiny_hf()
    with open(os.path.join(hf_dir, "config.json"), "w") as f:
        json.dump(dict(hf_config, vocab_size=10), f)
    with pytest.raises(ConversionError, match="vocab.txt has \\d+ tokens but the config's vocab_size is 10"):
        convert(hf_dir, str(tmp_path / "tf"))


@pytest.mark.parametrize("field,value,message", [
    ("hidden_act", "silu", "hidden_act 'silu' is not supported"),
    ("model_type", "roberta", "model_type is 'roberta'"),
    ("position_embedding_type", "relative_key", "position_embedding_type 'relative_key'"),
    ("num_attention_heads", 5, "hidden_size 32 is not a multiple of num_attention_heads 5"),
    ("hidden_size", "32", "hidden_size must be a positive integer"),
])
def test_config_that_modeling_cannot_express_is_refused(field, value, message):
    hf_config = hf_reference.tiny_hf_config(100, **{field: value})
    with pytest.raises(ConversionError, match=message):
        bert_config_from_hf(hf_config, "config.json")


def test_config_translation_notes_what_changes():
    config, notes = bert_config_from_hf(hf_reference.tiny_hf_config(100, hidden_act="gelu_new"), "c")
    assert config["hidden_act"] == "gelu" and notes == []
    _, notes = bert_config_from_hf(hf_reference.tiny_hf_config(100, layer_norm_eps=1e-5), "c")
    eps_note = "layer_norm_eps: the checkpoint used 1e-05, bert/modeling.py always uses 1e-12"
    assert notes == [eps_note]
    hf_config = hf_reference.tiny_hf_config(100)
    del hf_config["num_hidden_layers"], hf_config["vocab_size"]
    with pytest.raises(ConversionError, match="lacks the field\\(s\\) vocab_size, num_hidden_layers"):
        bert_config_from_hf(hf_config, "config.json")


def _sentence_transformers_files(hf_dir, modes, pooling_path="1_Pooling"):
    """modules.json and the Pooling module's config.json, as sentence-transformers saves them."""
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": pooling_path, "type": "sentence_transformers.models.Pooling"}]
    with open(os.path.join(hf_dir, "modules.json"), "w") as f:
        json.dump(modules, f)
    os.makedirs(os.path.join(hf_dir, pooling_path), exist_ok=True)
    config = {"word_embedding_dimension": 32, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False,
              "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}
    with open(os.path.join(hf_dir, pooling_path, "config.json"), "w") as f:
        json.dump(dict(config, **{"pooling_mode_%s" % mode: True for mode in modes}), f)


def _converted_config(manifest):
    with open(manifest["bert_config_file"]) as f:
        return json.load(f)


@needs_tf
def test_a_sentence_transformers_mean_pooling_becomes_the_configs_pooling(tiny_hf, tmp_path):
    """all-MiniLM-L6-v2 is trained to give the token mean; its BERT pooler never was (its bias is all zeros)."""
    hf_dir, _, _ = tiny_hf()
    plain = convert(hf_dir, str(tmp_path / "plain"))
    assert "pooling" not in _converted_config(plain) and plain["pooling"] == "cls"

    _sentence_transformers_files(hf_dir, ["mean_tokens"])
    manifest = convert(hf_dir, str(tmp_path / "tf"))
    assert _converted_config(manifest)["pooling"] == "mean" and manifest["pooling"] == "mean"
    assert any("1_Pooling/config.json: mean pooling" in note for note in manifest["notes"])


@needs_tf
@pytest.mark.parametrize("modes", [["cls_token"], ["max_tokens"], ["mean_tokens", "max_tokens"]])
def test_other_sentence_transformers_poolings_keep_the_pooled_cls_and_say_so(tiny_hf, tmp_path, modes):
    hf_dir, _, _ = tiny_hf()
    _sentence_transformers_files(hf_dir, modes, pooling_path="pool")
    manifest = convert(hf_dir, str(tmp_path / "tf"))
    assert "pooling" not in _converted_config(manifest)
    wanted = "pool/config.json: pooling %s has no counterpart here" % " + ".join(
        sorted("pooling_mode_" + mode for mode in modes))
    assert any(wanted in note for note in manifest["notes"]), manifest["notes"]


@needs_tf
def test_a_broken_sentence_transformers_module_list_is_named(tiny_hf, tmp_path):
    hf_dir, _, _ = tiny_hf()
    with open(os.path.join(hf_dir, "modules.json"), "w") as f:
        f.write('{"not": "a list"}')
    with pytest.raises(ConversionError, match=r"modules.json: not a sentence-transformers module list"):
        convert(hf_dir, str(tmp_path / "tf"))
    _sentence_transformers_files(hf_dir, ["mean_tokens"], pooling_path="missing")
    os.remove(os.path.join(hf_dir, "missing", "config.json"))
    with pytest.raises(ConversionError, match=r"missing file .*missing/config.json"):
        convert(hf_dir, str(tmp_path / "tf"))
