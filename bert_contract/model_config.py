"""Names in `bert_config.json` and checkpoints that the importer (`pretrained/`) writes and the trainer reads.

Google's bert_config.json fields stay as they are; two optional fields extend it
(absent: Google's BERT exactly as before): `architecture` (`bert` or `distilbert`)
and the `hidden_act` value `gelu_exact`, the erf GELU Hugging Face calls "gelu"
(Google's "gelu" is modeling.py's tanh approximation). The head variables keep the
reference's names, so an imported checkpoint restores into the trainer's graph.
"""

ARCHITECTURE_FIELD = "architecture"
BERT = "bert"
DISTILBERT = "distilbert"
ARCHITECTURES = (BERT, DISTILBERT)
GELU_EXACT = "gelu_exact"

# The output layer of both task families: [num_labels, hidden] and [num_labels].
OUTPUT_WEIGHTS = "output_weights"
OUTPUT_BIAS = "output_bias"
# DistilBERT's sequence classifier: first token -> this dense layer -> ReLU (Hugging Face's name).
PRE_CLASSIFIER_SCOPE = "pre_classifier"
