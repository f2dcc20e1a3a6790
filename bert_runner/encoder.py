"""The encoder a `bert_config.json` describes: Google's BERT, or DistilBERT built from the same pieces.

Two fields beyond Google's config, both optional (absent = Google's BERT as before):

* `"architecture": "distilbert"` — DistilBERT (Hugging Face): word + position
  embeddings without token-type embeddings (segment ids are ignored), the same
  post-LayerNorm transformer layers, and no pooler. Its sequence classifier reads the
  first token through `pre_classifier` + ReLU (`get_pooled_output` here), then
  dropout and the shared output layer. Built from `bert.modeling`'s own functions
  (`embedding_lookup`, `embedding_postprocessor`, `transformer_model`) under the
  same `bert/...` variable names, so nothing of modeling.py is copied.
* `"hidden_act": "gelu_exact"` — the exact erf GELU, which Hugging Face calls
  `"gelu"` (`gelu.py`: float32-accurate without TF 1.15's slow scalar `erf`).
  Google's `"gelu"` stays modeling.py's tanh approximation, so Google
  checkpoints keep their activation; Google's own code refuses `gelu_exact` loudly
  instead of silently running the other function.
"""

import copy

import tensorflow.compat.v1 as tf
from bert import modeling

from bert_contract.model_config import (
    ARCHITECTURE_FIELD, ARCHITECTURES, BERT, CLS_POOLING, DISTILBERT, GELU_EXACT, MEAN_POOLING, MEAN_POOLING_SCOPE,
    POOLING_FIELD, POOLINGS, PRE_CLASSIFIER_SCOPE)
from bert_runner.gelu import gelu_exact


def architecture(bert_config) -> str:
    return getattr(bert_config, ARCHITECTURE_FIELD, None) or BERT


def pooling(bert_config) -> str:
    return getattr(bert_config, POOLING_FIELD, None) or CLS_POOLING


def check_config(bert_config) -> None:
    """ValueError naming the field when the config asks for an encoder this code cannot build."""
    if architecture(bert_config) not in ARCHITECTURES:
        raise ValueError("architecture %r is not supported (supported: %s)"
                         % (architecture(bert_config), ", ".join(ARCHITECTURES)))
    if pooling(bert_config) not in POOLINGS:
        raise ValueError("pooling %r is not supported (supported: %s)" % (pooling(bert_config), ", ".join(POOLINGS)))
    act = bert_config.hidden_act
    if isinstance(act, str) and act.lower() != GELU_EXACT:
        modeling.get_activation(act)  # raises ValueError for an unknown name


def build_encoder(bert_config, is_training, input_ids, input_mask=None, token_type_ids=None,
                  use_one_hot_embeddings=False) -> "Encoder":
    """`modeling.BertModel` or `DistilBertEncoder`, with the sentence vector the config's pooling asks for."""
    check_config(bert_config)
    config = copy.deepcopy(bert_config)
    if isinstance(config.hidden_act, str) and config.hidden_act.lower() == GELU_EXACT:
        config.hidden_act = gelu_exact  # modeling.get_activation passes callables through
    if input_mask is None:
        input_mask = tf.ones_like(input_ids)
    if architecture(config) == DISTILBERT:
        model = DistilBertEncoder(config, is_training, input_ids, input_mask, use_one_hot_embeddings)
    else:
        # scope "bert" (not the default_name): built again under reuse, for each training
        # micro-batch, it keeps the same variables instead of making "bert_1".
        model = modeling.BertModel(config=config, is_training=is_training, input_ids=input_ids, input_mask=input_mask,
                                   token_type_ids=token_type_ids, use_one_hot_embeddings=use_one_hot_embeddings,
                                   scope="bert")
    return Encoder(model, pooling(config), input_mask)


class Encoder:
    """The built encoder's outputs: every token's vector, the pooled first token, and the sentence vector."""

    def __init__(self, model, pooling_name: str, input_mask):
        self.model = model
        self.pooling = pooling_name
        self.input_mask = input_mask

    def get_sequence_output(self):
        return self.model.get_sequence_output()

    def get_pooled_output(self):
        return self.model.get_pooled_output()

    def get_sentence_output(self):
        """What a sentence-level head reads: the pooled first token, or the masked token mean (`pooling`)."""
        if self.pooling == MEAN_POOLING:
            return masked_mean(self.get_sequence_output(), self.input_mask)
        return self.get_pooled_output()


def masked_mean(sequence, input_mask):
    """The mean of the real tokens' vectors, [batch, hidden] (sentence-transformers' mean pooling)."""
    with tf.name_scope(MEAN_POOLING_SCOPE):
        mask = tf.cast(tf.expand_dims(input_mask, -1), sequence.dtype)
        count = tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)  # an all-padding row gives zeros, not NaN
        return tf.reduce_sum(sequence * mask, axis=1) / count


class DistilBertEncoder:
    """DistilBERT's transformer under BERT's variable names (no token types, no pooler)."""

    def __init__(self, config, is_training, input_ids, input_mask=None, use_one_hot_embeddings=False):
        if not is_training:
            config.hidden_dropout_prob = 0.0
            config.attention_probs_dropout_prob = 0.0
        self.config = config
        self.is_training = is_training
        with tf.variable_scope("bert"):
            with tf.variable_scope("embeddings"):
                words, _ = modeling.embedding_lookup(
                    input_ids=input_ids, vocab_size=config.vocab_size, embedding_size=config.hidden_size,
                    initializer_range=config.initializer_range, word_embedding_name="word_embeddings",
                    use_one_hot_embeddings=use_one_hot_embeddings)
                embedded = modeling.embedding_postprocessor(
                    input_tensor=words, use_token_type=False, use_position_embeddings=True,
                    position_embedding_name="position_embeddings", initializer_range=config.initializer_range,
                    max_position_embeddings=config.max_position_embeddings, dropout_prob=config.hidden_dropout_prob)
            with tf.variable_scope("encoder"):
                attention_mask = modeling.create_attention_mask_from_input_mask(input_ids, input_mask)
                self.sequence_output = modeling.transformer_model(
                    input_tensor=embedded, attention_mask=attention_mask, hidden_size=config.hidden_size,
                    num_hidden_layers=config.num_hidden_layers, num_attention_heads=config.num_attention_heads,
                    intermediate_size=config.intermediate_size,
                    intermediate_act_fn=modeling.get_activation(config.hidden_act),
                    hidden_dropout_prob=config.hidden_dropout_prob,
                    attention_probs_dropout_prob=config.attention_probs_dropout_prob,
                    initializer_range=config.initializer_range)
        self._pooled = None

    def get_sequence_output(self):
        return self.sequence_output

    def get_pooled_output(self):
        """ReLU(pre_classifier(first token)): DistilBertForSequenceClassification's input to its dropout."""
        if self._pooled is None:
            self._pooled = tf.layers.dense(
                self.sequence_output[:, 0, :], self.config.hidden_size, activation=tf.nn.relu,
                kernel_initializer=modeling.create_initializer(self.config.initializer_range),
                name=PRE_CLASSIFIER_SCOPE)
        return self._pooled
