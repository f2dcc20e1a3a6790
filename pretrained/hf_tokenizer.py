"""A Hugging Face tokenizer's settings -> the featurizer's, or one line naming what it cannot reproduce.

The featurizer is Google's FullTokenizer: BERT's basic tokenizer (clean text, CJK split,
lower case + strip accents together, punctuation split) and WordPiece with `##`, with the
special tokens [CLS] [SEP] [PAD] [UNK]. Its only setting is `do_lower_case`. So:

* `tokenizer_config.json`: `do_lower_case` maps; `strip_accents` must follow it (None, or
  equal to `do_lower_case`); `tokenize_chinese_chars` must be true; `never_split` empty; the
  special tokens must be the standard ones; `do_basic_tokenize` true; `model_max_length` caps `--max_seq_length`.
* `tokenizer.json` (fast tokenizers): a `BertNormalizer` agreeing with the above, a
  `BertPreTokenizer`, a `WordPiece` model with prefix `##` and the standard unknown token,
  and no added tokens beyond the special ones (they would be split off before WordPiece).

Known differences that remain are measured and documented in bench/README.md ("Hugging Face
tokenizers against the featurizer"); the main one is WordPiece's word-length limit (100
characters in Hugging Face, 200 in Google's code).
"""

import json
import os
from typing import Dict, List, NamedTuple, Optional

from pretrained.errors import ConversionError
from pretrained.hf_config import read_json

TOKENIZER_CONFIG = "tokenizer_config.json"
TOKENIZER_JSON = "tokenizer.json"
VOCAB = "vocab.txt"
SUPPORTED_CLASSES = ("BertTokenizer", "BertTokenizerFast", "DistilBertTokenizer", "DistilBertTokenizerFast")
SPECIAL_TOKENS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                  "mask_token": "[MASK]"}
# A sequence length the pipeline suggests unless the model allows less (BERT's usual fine-tuning length).
DEFAULT_MAX_SEQ_LENGTH = 128


class TokenizerSettings(NamedTuple):
    do_lower_case: bool
    model_max_length: Optional[int]
    vocab: Optional[List[str]]  # from tokenizer.json when the directory has no vocab.txt
    notes: List[str]


def read_settings(hf_dir: str) -> TokenizerSettings:
    """The featurizer settings of the tokenizer saved in `hf_dir`; ConversionError for one it cannot match."""
    config_path = os.path.join(hf_dir, TOKENIZER_CONFIG)
    config = read_json(config_path) if os.path.isfile(config_path) else {}
    notes = []
    if not config:
        notes.append("%s is absent: assuming BertTokenizer's defaults (do_lower_case true)" % config_path)
    cls = config.get("tokenizer_class")
    if cls is not None and cls not in SUPPORTED_CLASSES:
        raise ConversionError("%s: tokenizer_class %r is not supported (supported: %s)"
                              % (config_path, cls, ", ".join(SUPPORTED_CLASSES)))
    lower = config.get("do_lower_case", True)
    if not isinstance(lower, bool):
        raise ConversionError("%s: do_lower_case must be true or false, got %r" % (config_path, lower))
    _check_accents(config.get("strip_accents"), lower, config_path + ": strip_accents")
    if config.get("tokenize_chinese_chars", True) is not True:
        raise ConversionError("%s: tokenize_chinese_chars=false is not supported (the featurizer always splits "
                              "CJK characters)" % config_path)
    if config.get("do_basic_tokenize", True) is not True:
        raise ConversionError("%s: do_basic_tokenize=false is not supported (the featurizer always splits on "
                              "whitespace and punctuation first)" % config_path)
    if config.get("never_split"):
        raise ConversionError("%s: never_split %r is not supported (the featurizer splits every word)"
                              % (config_path, config["never_split"]))
    for field, want in SPECIAL_TOKENS.items():
        got = _content(config.get(field, want))
        if got != want:
            raise ConversionError("%s: %s %r is not supported (the featurizer uses %s)" % (config_path, field, got, want))
    max_length = config.get("model_max_length")
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length <= 0 or max_length > 1 << 20:
        max_length = None  # transformers writes 1e30 for "no limit"

    vocab = None
    json_path = os.path.join(hf_dir, TOKENIZER_JSON)
    if os.path.isfile(json_path):
        vocab = _check_fast_tokenizer(read_json(json_path), json_path, lower)
    if os.path.isfile(os.path.join(hf_dir, VOCAB)):
        vocab = None
    elif vocab is None:
        raise ConversionError("%s has neither %s nor a WordPiece %s" % (hf_dir, VOCAB, TOKENIZER_JSON))
    return TokenizerSettings(lower, max_length, vocab, notes)


def max_seq_length(settings: TokenizerSettings, max_position_embeddings: int) -> int:
    """The suggested --max_seq_length: 128, unless the tokenizer or the position table allows less."""
    limits = [DEFAULT_MAX_SEQ_LENGTH, max_position_embeddings]
    if settings.model_max_length:
        limits.append(settings.model_max_length)
    return min(limits)


def _check_accents(strip_accents, lower: bool, where: str) -> None:
    if strip_accents is not None and strip_accents != lower:
        raise ConversionError("%s=%s with do_lower_case=%s is not supported (the featurizer strips accents exactly "
                              "when it lowercases)" % (where, json.dumps(strip_accents), json.dumps(lower)))


def _check_fast_tokenizer(data: Dict, path: str, lower: bool) -> Optional[List[str]]:
    """Refuses a tokenizer.json the featurizer would not reproduce; returns its vocab in id order."""
    normalizer = data.get("normalizer") or {}
    if normalizer.get("type") != "BertNormalizer":
        raise ConversionError("%s: normalizer %r is not supported (BertNormalizer only)" % (path, normalizer.get("type")))
    if normalizer.get("lowercase", True) != lower:
        raise ConversionError("%s: normalizer.lowercase=%s disagrees with do_lower_case=%s in %s"
                              % (path, json.dumps(normalizer.get("lowercase")), json.dumps(lower), TOKENIZER_CONFIG))
    _check_accents(normalizer.get("strip_accents"), lower, path + ": normalizer.strip_accents")
    for field in ("clean_text", "handle_chinese_chars"):
        if normalizer.get(field, True) is not True:
            raise ConversionError("%s: normalizer.%s=false is not supported" % (path, field))
    pre = (data.get("pre_tokenizer") or {}).get("type")
    if pre != "BertPreTokenizer":
        raise ConversionError("%s: pre_tokenizer %r is not supported (BertPreTokenizer only)" % (path, pre))
    model = data.get("model") or {}
    if model.get("type") != "WordPiece":
        raise ConversionError("%s: model type %r is not supported (WordPiece only)" % (path, model.get("type")))
    if model.get("continuing_subword_prefix", "##") != "##":
        raise ConversionError("%s: model.continuing_subword_prefix %r is not supported (##)"
                              % (path, model["continuing_subword_prefix"]))
    if model.get("unk_token", "[UNK]") != "[UNK]":
        raise ConversionError("%s: model.unk_token %r is not supported ([UNK])" % (path, model["unk_token"]))
    added = [t.get("content") for t in data.get("added_tokens") or [] if not t.get("special")]
    if added:
        raise ConversionError("%s: added tokens %s are not supported (the featurizer does not split them off)"
                              % (path, ", ".join(repr(t) for t in added[:5])))
    vocab = model.get("vocab")
    if not isinstance(vocab, dict):
        return None
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    if [index for _, index in by_id] != list(range(len(by_id))):
        raise ConversionError("%s: model.vocab ids are not 0..%d" % (path, len(by_id) - 1))
    return [token for token, _ in by_id]


def _content(token):
    """A special token as saved: a string, or an AddedToken dict with `content`."""
    return token.get("content") if isinstance(token, dict) else token



SPECIAL_TOKENS_MAP = "special_tokens_map.json"


def write_tokenizer(directory: str, vocab_bytes: bytes, do_lower_case: bool, max_seq_length: int,
                    tokenizer_class: str) -> List[str]:
    """vocab.txt (the model's bytes), tokenizer_config.json, special_tokens_map.json and tokenizer.json, which
    `read_settings` accepts and `AutoTokenizer` loads with the featurizer's settings; returns the file names.

    tokenizer.json is the featurizer's own `tokenizers` pipeline (featurizer/fast.py), so the fast
    tokenizer keeps Google's 200-character word limit (the slow one, from vocab.txt, has 100).
    """
    from tokenizers import decoders, processors

    from featurizer import load_vocab
    from featurizer.fast import bert_wordpiece

    vocab_file = os.path.join(directory, VOCAB)
    with open(vocab_file, "wb") as f:
        f.write(vocab_bytes)
    vocab = load_vocab(vocab_file)
    specials = {field: token for field, token in SPECIAL_TOKENS.items() if token in vocab}
    config = dict(specials, tokenizer_class=tokenizer_class, do_lower_case=do_lower_case, strip_accents=None,
                  tokenize_chinese_chars=True, do_basic_tokenize=True, never_split=None,
                  model_max_length=max_seq_length, clean_up_tokenization_spaces=True)
    _write_json(os.path.join(directory, TOKENIZER_CONFIG), config)
    _write_json(os.path.join(directory, SPECIAL_TOKENS_MAP), specials)
    tokenizer = bert_wordpiece(vocab, do_lower_case)
    tokenizer.add_special_tokens(list(specials.values()))
    cls, sep = SPECIAL_TOKENS["cls_token"], SPECIAL_TOKENS["sep_token"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single="%s $A %s" % (cls, sep), pair="%s $A %s $B:1 %s:1" % (cls, sep, sep),
        special_tokens=[(cls, vocab[cls]), (sep, vocab[sep])])
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    tokenizer.save(os.path.join(directory, TOKENIZER_JSON))
    return [VOCAB, TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP, TOKENIZER_JSON]


def _write_json(path: str, value: Dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
