"""How often the featurizer's ids equal transformers' BertTokenizer / BertTokenizerFast ids.

Run in the TF 2.x venv, which has transformers (the featurizer is pure Python):

    PYTHONPATH=$PWD .venv-tf2/bin/python -m bench.hf_tokenizers [--vocab V] [--sms_dir D] [--hostile N]

Texts: every SMS text of ../shared/data/sms_spam, the hostile edge cases of
tests/helpers/hostile_text.py and N texts generated (seeded) from the same ingredients
(controls, odd whitespace, format characters, combining marks, CJK, Hangul, emoji, long
words). For each casing it compares the ids without special tokens and sorts every text
that differs into the kinds of difference it shows (a text can show several); results are
in bench/README.md, "Hugging Face tokenizers against the featurizer".
"""

import argparse
import collections
import functools
import os
import random
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "helpers"))

# transformers' WordPiece gives [UNK] for a word longer than this; Google's code (the featurizer) allows 200.
HF_MAX_WORD = 100
GOOGLE_MAX_WORD = 200


def hostile_texts(count, seed=0):
    """Seeded texts from hostile_text's ingredients: whole edge cases, words and single hostile characters."""
    from hostile_text import ASCII_WORDS, EDGE_CASES, SPECIAL_CHARACTERS

    rng = random.Random(seed)

    def any_character():
        while True:
            c = chr(rng.randrange(0x110000))
            if unicodedata.category(c) != "Cs":
                return c

    pieces = [lambda: rng.choice(SPECIAL_CHARACTERS), any_character, lambda: rng.choice("aAbZ09 "),
              lambda: rng.choice(ASCII_WORDS), lambda: rng.choice(EDGE_CASES)]
    texts = list(EDGE_CASES)
    for _ in range(count):
        texts.append("".join(rng.choice(pieces)() for _ in range(rng.randint(1, 12))))
    return texts


SPECIAL = "special-token strings in the text ([CLS] etc.: one id in transformers, split like text here)"
LONG = "words of 101-200 characters ([UNK] in transformers, WordPieces here)"
# Featurizer-side rewrites that reproduce a known transformers behaviour: if the featurizer's ids
# of the rewritten text equal transformers' ids of the text, that behaviour explains the difference.
REWRITES = [
    ("private-use characters (Co): dropped by transformers, kept here ([UNK] or inside a word)",
     lambda t: "".join(c for c in t if unicodedata.category(c) != "Co")),
    ("unassigned code points (Cn): dropped by BertTokenizer, kept here and by the fast tokenizer",
     lambda t: "".join(c for c in t if unicodedata.category(c) != "Cn")),
    ("NFC normalization (BertTokenizer composes characters first)", lambda t: unicodedata.normalize("NFC", t)),
    ("\\x0b \\x0c \\x85 U+2028 U+2029: whitespace to the Rust normalizer, dropped or kept here",
     lambda t: t.translate({ord(c): " " for c in "\x0b\x0c\x85\u2028\u2029"})),
]


def _tokenizers(vocab_file, lower, split_special=False, long_words=False):
    """transformers' slow and fast tokenizers, optionally with the featurizer's two fixed behaviours:
    special-token strings split like any text, WordPiece words up to 200 characters."""
    import transformers

    found = {}
    for name, cls in (("BertTokenizer", transformers.BertTokenizer), ("BertTokenizerFast", transformers.BertTokenizerFast)):
        tokenizer = cls(vocab_file=vocab_file, do_lower_case=lower, split_special_tokens=split_special)
        if split_special and name == "BertTokenizer":  # 4.46 does not pass the setting on to its basic tokenizer
            tokenizer._tokenize = functools.partial(cls._tokenize, tokenizer, split_special_tokens=True)
        if long_words:
            if name == "BertTokenizer":
                tokenizer.wordpiece_tokenizer.max_input_chars_per_word = GOOGLE_MAX_WORD
            else:
                tokenizer.backend_tokenizer.model.max_input_chars_per_word = GOOGLE_MAX_WORD
        found[name] = tokenizer
    return found


def _ids(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False, split_special_tokens=tokenizer.split_special_tokens)


def explain(text, theirs, variants, featurizer):
    """The kinds of difference that explain why transformers' ids (`theirs`) differ from the featurizer's.

    Found by experiment: turning off special-token matching or the 100-character word limit on
    their side, then rewriting the text on our side as each known transformers behaviour would.
    """
    kinds = [kind for kind, key in ((SPECIAL, "split"), (LONG, "long")) if _ids(variants[key], text) != theirs]
    target = _ids(variants["both"], text)

    def ours(t):
        return featurizer.token_ids([t])[0]

    if ours(text) == target:
        return kinds
    for kind, rewrite in REWRITES:
        if ours(rewrite(text)) == target:
            return kinds + [kind]
    rewritten, used = text, []
    for kind, rewrite in REWRITES:
        if rewrite(rewritten) != rewritten:
            rewritten, used = rewrite(rewritten), used + [kind]
    if ours(rewritten) == target:
        return kinds + used
    return kinds + ["unexplained"]


def compare(texts, vocab_file, lower):
    from featurizer import Featurizer

    featurizer = Featurizer(vocab_file, do_lower_case=lower, max_seq_length=1 << 20)
    plain = _tokenizers(vocab_file, lower)
    variants = {"split": _tokenizers(vocab_file, lower, split_special=True),
                "long": _tokenizers(vocab_file, lower, long_words=True),
                "both": _tokenizers(vocab_file, lower, split_special=True, long_words=True)}
    ours = featurizer.token_ids(texts)
    result = {}
    for name in plain:
        mine = {key: tokenizers[name] for key, tokenizers in variants.items()}
        kinds = collections.Counter()
        differing = []
        for text, our_ids in zip(texts, ours):
            theirs = _ids(plain[name], text)
            if theirs != our_ids:
                differing.append(text)
                kinds.update(explain(text, theirs, mine, featurizer))
        result[name] = {"equal": len(texts) - len(differing), "total": len(texts), "kinds": kinds,
                        "unexplained": [t for t in differing if "unexplained" in explain(
                            t, _ids(plain[name], t), mine, featurizer)][:3]}
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocab", default=os.path.join(REPO, "cache", "pretrained", "all-MiniLM-L6-v2", "vocab.txt"))
    parser.add_argument("--sms_dir", default=os.path.join(REPO, "..", "shared", "data", "sms_spam"))
    parser.add_argument("--hostile", type=int, default=2000, help="generated hostile texts")
    args = parser.parse_args(argv)
    import transformers

    sets = [("hostile (%d generated + edge cases)" % args.hostile, hostile_texts(args.hostile))]
    if os.path.isdir(args.sms_dir):
        from tiny_bert import read_sms_texts

        sets.insert(0, ("SMS spam (all splits)", read_sms_texts(args.sms_dir)))
    print("transformers %s, vocab %s" % (transformers.__version__, args.vocab))
    for lower in (True, False):
        for label, texts in sets:
            for name, r in compare(texts, args.vocab, lower).items():
                print("do_lower_case=%s  %-36s %-18s %d/%d equal (%.2f%%)" % (
                    lower, label, name, r["equal"], r["total"], 100.0 * r["equal"] / r["total"]))
                for kind, count in r["kinds"].most_common():
                    print("      %5d  %s" % (count, kind))
                for text in r["unexplained"]:
                    print("      unexplained, e.g. %r" % text[:100])
    return 0


if __name__ == "__main__":
    sys.exit(main())
