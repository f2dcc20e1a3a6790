"""`modeling.BertModel` on a converted checkpoint computes what the Hugging Face weights define."""

import os

import hf_reference
import numpy as np
import pytest
from safetensors.numpy import load_file

from featurizer import Featurizer, pad_batch
from pretrained import convert
from pretrained.hf_config import read_json

pytestmark = pytest.mark.needs_tf

TOLERANCE = 1e-4
SENTENCES = [
    ("the movie was great", None),
    ("i hate this film , it is the worst", "no it is not"),
    ("free prize ! call now", None),
    ("ok", "you are my best friend and i love you"),
]


def encode(vocab_file, pairs, do_lower_case=True, max_seq_length=32):
    featurizer = Featurizer(vocab_file, do_lower_case=do_lower_case, max_seq_length=max_seq_length)
    encoded = featurizer.encode_batch([a for a, _ in pairs], [b for _, b in pairs])
    return pad_batch(encoded)


def assert_parity(manifest, weights, hf_config, inputs):
    got = hf_reference.run_encoder(manifest, inputs)
    want = hf_reference.numpy_bert(weights, hf_config, inputs["input_ids"], inputs["input_mask"],
                                   inputs["segment_ids"])
    real = np.asarray(inputs["input_mask"], bool)  # padded positions are not used downstream
    difference = np.abs(got[real] - want[real]).max()
    assert difference < TOLERANCE, "max abs difference %g" % difference
    return difference


@pytest.mark.parametrize("prefix,gamma_beta", [("", False), ("bert.", True)])
def test_tiny_random_checkpoint_matches_numpy(tiny_hf, tmp_path, prefix, gamma_beta):
    hf_dir, hf_config, weights = tiny_hf(edit=lambda w: hf_reference.rename(w, prefix, gamma_beta))
    manifest = convert(hf_dir, str(tmp_path / "tf"))
    assert_parity(manifest, weights, hf_config, encode(manifest["vocab_file"], SENTENCES))


def test_real_minilm_matches_numpy(real_minilm):
    weights = load_file(os.path.join(real_minilm["hf_dir"], "model.safetensors"))
    hf_config = read_json(os.path.join(real_minilm["hf_dir"], "config.json"))
    inputs = encode(real_minilm["vocab_file"], [
        ("A man is playing a guitar on stage.", None),
        ("How do I reset my password?", "Click 'forgot password' on the login page."),
        ("Congratulations! You've WON a £1000 prize. Call 09061701461 now.", None),
    ])
    assert_parity(real_minilm, weights, hf_config, inputs)


def _cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_real_minilm_ranks_paraphrase_above_unrelated(real_minilm):
    """The sentence vector the converted config gives the classifier is the model's own (sentence-transformers'
    mean pooling), and it carries meaning."""
    triplets = [
        ("A man is playing a guitar.", "Someone is playing an acoustic guitar.",
         "The stock market fell sharply on Monday."),
        ("How do I reset my password?", "I forgot my password, how can I change it?",
         "The cat is sleeping on the sofa."),
        ("You have won a free prize, call now to claim it!",
         "Congratulations, you were selected for a cash award. Phone us today.",
         "Are we still meeting for lunch tomorrow?"),
    ]
    texts = [text for triplet in triplets for text in triplet]
    inputs = encode(real_minilm["vocab_file"], [(text, None) for text in texts], max_seq_length=64)
    assert read_json(real_minilm["bert_config_file"])["pooling"] == "mean"  # from its 1_Pooling/config.json
    hidden = hf_reference.run_encoder(real_minilm, inputs)
    mask = np.asarray(inputs["input_mask"], np.float32)[:, :, None]
    embeddings = hf_reference.run_encoder(real_minilm, inputs, output="sentence")
    np.testing.assert_allclose(embeddings, (hidden * mask).sum(axis=1) / mask.sum(axis=1), atol=1e-5)
    for index, (anchor, _, _) in enumerate(triplets):
        a, p, u = embeddings[3 * index: 3 * index + 3]
        assert _cosine(a, p) > _cosine(a, u) + 0.1, (anchor, _cosine(a, p), _cosine(a, u))
