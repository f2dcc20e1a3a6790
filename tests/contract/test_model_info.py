"""ModelInfo, the metadata every export carries: old exports keep loading, new fields round-trip."""

import json

import pytest

from bert_contract import DEFAULT_THRESHOLD, MULTI_LABEL_CLASSIFICATION, TASK_KINDS, MetadataError, ModelInfo


def _info(**fields):
    base = dict(labels=["joy", "anger"], vocab_sha256="ab" * 32, do_lower_case=True, max_seq_length=64)
    base.update(fields)
    return ModelInfo(**base)


def test_multi_label_thresholds_round_trip():
    info = _info(task_kind=MULTI_LABEL_CLASSIFICATION, thresholds=[0.25, DEFAULT_THRESHOLD])
    assert MULTI_LABEL_CLASSIFICATION in TASK_KINDS
    assert ModelInfo.from_json(info.to_json()) == info


def test_metadata_written_before_thresholds_loads_with_none():
    old = json.loads(_info().to_json())
    del old["thresholds"]
    old["schema_version"] = 3
    assert ModelInfo.from_json(json.dumps(old)).thresholds == []


def test_text_pairs_round_trip_and_old_metadata_takes_anything():
    assert ModelInfo.from_json(_info(text_pairs=False).to_json()).text_pairs is False
    assert ModelInfo.from_json(_info(text_pairs=True).to_json()).text_pairs is True
    old = json.loads(_info().to_json())
    del old["text_pairs"]
    old["schema_version"] = 4
    assert ModelInfo.from_json(json.dumps(old)).text_pairs is None


def test_thresholds_must_match_the_labels():
    with pytest.raises(MetadataError, match="1 thresholds for 2 labels"):
        ModelInfo.from_json(_info(task_kind=MULTI_LABEL_CLASSIFICATION, thresholds=[0.3]).to_json())
