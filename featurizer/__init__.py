"""Text -> BERT inputs, shared by training, export warm-up and the client.

Pure Python (no TensorFlow); the Rust `tokenizers` package, when installed,
speeds up ASCII text with identical ids.
"""

from featurizer.errors import FeaturizerError
from featurizer.features import EncodedInput, Featurizer, pad_batch, truncate_pair
from featurizer.offsets import WordPieces
from featurizer.windows import Window, WindowedText, best_windows
from bert_contract import FEATURIZER_VERSION, MetadataError, ModelInfo
from featurizer.vocab import load_vocab, vocab_sha256

__all__ = [
    "EncodedInput",
    "FEATURIZER_VERSION",
    "Featurizer",
    "FeaturizerError",
    "MetadataError",
    "ModelInfo",
    "load_vocab",
    "pad_batch",
    "truncate_pair",
    "vocab_sha256",
    "Window",
    "WindowedText",
    "WordPieces",
    "best_windows",
]
