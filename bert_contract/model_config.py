"""Names in `bert_config.json` and checkpoints that the importer (`pretrained/`) writes and the trainer reads.

Google's bert_config.json fields stay as they are; optional fields extend it
(absent: Google's BERT exactly as before): `architecture` (`bert` or `distilbert`),
the `hidden_act` value `gelu_exact`, the erf GELU Hugging Face calls "gelu"
(Google's "gelu" is modeling.py's tanh approximation), and `pooling`, the sentence
vector a sentence-level head reads. The head variables keep the
reference's names, so an imported checkpoint restores into the trainer's graph.
"""

ARCHITECTURE_FIELD = "architecture"
BERT = "bert"
DISTILBERT = "distilbert"
ARCHITECTURES = (BERT, DISTILBERT)
GELU_EXACT = "gelu_exact"

# The sentence vector the sequence and multi-label heads read. "cls" (the default): the pooled
# first token, as the reference (BERT's pooler; DistilBERT's pre_classifier). "mean": the
# mask-weighted mean of the last layer's token vectors, the output sentence-transformers
# models such as all-MiniLM-L6-v2 are trained to give (their pooler never was).
POOLING_FIELD = "pooling"
CLS_POOLING = "cls"
MEAN_POOLING = "mean"
POOLINGS = (CLS_POOLING, MEAN_POOLING)
# The name scope of the mean's ops, by which an export's graph shows its pooling.
MEAN_POOLING_SCOPE = "mean_pooling"

# The output layer of both task families: [num_labels, hidden] and [num_labels].
OUTPUT_WEIGHTS = "output_weights"
OUTPUT_BIAS = "output_bias"
# DistilBERT's sequence classifier: first token -> this dense layer -> ReLU (Hugging Face's name).
PRE_CLASSIFIER_SCOPE = "pre_classifier"
