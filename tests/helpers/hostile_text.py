"""Hostile text for the featurizer's tests: the reference edge cases and Hypothesis strategies.

The edge cases are what the parity tests check against the reference
tokenizer; the strategies mix them with the characters each tokenizer stage
treats specially (controls, format characters, odd whitespace, combining
marks, CJK, Hangul, Greek sigma, dotted I, emoji), so property tests hit every
stage, not just ASCII.
"""

from hypothesis import strategies as st

EDGE_CASES = [
    "",
    "   ",
    "UNwant\u00e9d,running",
    "unwantedX running",
    "H\u00e9llo W\u00f6rld \u00c5ngstr\u00f6m na\u00efve caf\u00e9",
    "\u4e2d\u6587\u5b57 mixed with english\u4e2d",
    "ctrl\x00chars\x07and\x1bescapes\x7f here",
    "zero\u200bwidth\u200cjoiner\u200d and\ufeffbom",
    "tabs\tnew\nlines\rand\u00a0nbsp\u3000ideographic space",
    "punct!!! ... ?!? \"quoted\" (paren) [CLS] [SEP] #hash ##hash @at $5.00",
    "\u00bfqu\u00e9? \u00a1s\u00ed! \u2014 em\u2013dash \u2026 \u00ab\u00bb \u201ccurly\u201d",
    "a" * 199,
    "a" * 200,
    "b" * 201,
    "x" * 1000 + " tail",
    "\ufffdreplacement\ufffd",
    "Stra\u00dfe \u0130stanbul \u0131 \uff21\uff22\uff23 \u2160",
    "emoji \U0001f600 \U0001f44d\U0001f3fd and \U00020000 ext-b",
    "soft\u00adhyphen combining e\u0301 and \u1e9e",
    "unassigned \u0378 private \ue000 here",
]

# Characters each stage of the tokenizer handles specially.
SPECIAL_CHARACTERS = (
    "\x00\x07\x1b\x7f\x85\x1c"  # controls (dropped; \x1c and \x85 are Python whitespace)
    "\t\n\r \u00a0\u3000\u2028\u2029\u1680"  # whitespace of every kind
    "\u200b\u200c\u200d\ufeff\u00ad\ufffd"  # format characters, replacement character
    "\u0301\u0308\u0327\u302a\u0345\ufe0f"  # combining marks (stripped when lower-casing)
    "\u00e9\u00c5\u1e9e\u0130\u0131\u03a3\u03c3\u03c2\u0390"  # accents, sharp s, dotted I, sigma
    "\u4e2d\u6587\uf900\U00020000"  # CJK ideographs (split into words)
    "\ud55c\uad6d\u1100\u1161"  # Hangul syllables and jamo (NFD splits a syllable)
    "\U0001f600\U0001f3fd\ue000\u0378\uff21"  # emoji, private use, unassigned, full width
    ".,'!?-#@$&\u2014\u00bf\u201c"  # punctuation
)
ASCII_WORDS = ("a", "A", "run", "Running", "un", "WANT", "ed", "the", "12", "x" * 30)

hostile_characters = st.one_of(
    st.sampled_from(SPECIAL_CHARACTERS), st.characters(blacklist_categories=("Cs",)), st.sampled_from("aAbZ09 ")
)
# Texts built from whole edge cases, words and single hostile characters.
hostile_texts = st.lists(
    st.one_of(hostile_characters, st.sampled_from(ASCII_WORDS), st.sampled_from(EDGE_CASES[:11] + EDGE_CASES[15:])),
    max_size=12,
).map("".join)
# Pre-split words, as a CoNLL file gives them (never empty, no line breaks).
conll_words = st.lists(
    st.text(hostile_characters, min_size=1, max_size=8).filter(lambda w: "\n" not in w and "\r" not in w),
    min_size=1,
    max_size=10,
)
