"""CoNLL-style token/tag files: one token per line, the tag in the last column.

Columns are tab-separated when the line has a tab, else split on spaces (the
CoNLL-2003 layout); the token is the first column. An empty or
whitespace-only line ends a sentence (WNUT-17's train file separates most
sentences with a lone tab), `-DOCSTART-` lines are skipped. Tags are read in
the file's scheme and kept as IOB2. Every problem is one `file:line: ...`
message, raised while reading, i.e. before any training starts.
"""

import os
from typing import Iterable, List, NamedTuple, Optional, Sequence

from bert_contract import NotUtf8Error, read_utf8
from tagging.errors import TaggingError
from tagging.schemes import IOB2, OUTSIDE, from_iob2, split_tag, tag_list, tag_types, to_iob2

SUFFIXES = (".conll", ".txt", ".tsv")
DOCSTART = "-DOCSTART-"


class Sentence(NamedTuple):
    words: List[str]
    tags: List[str]  # IOB2
    lines: List[int]  # the file line of each word
    path: str

    def where(self, index: int = 0) -> str:
        """"file:line" of word `index`, for messages."""
        return "%s:%d" % (self.path, self.lines[index])


def split_path(data_dir: str, split: str, explicit: Optional[str] = None) -> str:
    """The file of a split: `explicit` (relative to data_dir), else `<split>.conll|.txt|.tsv` in data_dir."""
    if explicit:
        return explicit if os.path.isabs(explicit) else os.path.join(data_dir or "", explicit)
    candidates = [os.path.join(data_dir or "", split + suffix) for suffix in SUFFIXES]
    for path in candidates:
        if os.path.exists(path):
            return path
    raise TaggingError(
        "no %s file: expected one of %s" % (split, ", ".join(candidates))
    )


def read_text(path: str) -> str:
    """A UTF-8 file's text; non-UTF-8 bytes are an error naming the line and column."""
    try:
        text = read_utf8(path)
    except OSError as e:
        raise TaggingError("cannot read %s: %s" % (path, e.strerror or e))
    except NotUtf8Error as e:
        raise TaggingError(str(e))
    return text[1:] if text.startswith("\ufeff") else text


def _columns(line: str) -> List[str]:
    fields = line.split("\t") if "\t" in line else line.split()
    return [field.strip() for field in fields]


def read_conll(path: str, scheme: str = IOB2) -> List[Sentence]:
    """The sentences of one file, tags converted from `scheme` to IOB2."""
    sentences = []  # type: List[Sentence]
    words, tags, lines = [], [], []  # type: List[str], List[str], List[int]

    def close() -> None:
        if not words:
            return
        try:
            converted = to_iob2(tags, scheme)
        except TaggingError as e:
            raise TaggingError("%s:%d: %s" % (path, lines[e.index], e))
        sentences.append(Sentence(list(words), converted, list(lines), path))
        del words[:], tags[:], lines[:]

    # Lines end at "\n" only: a token may hold other line separators (U+2028, \x1c, ...).
    for number, line in enumerate(read_text(path).split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            close()
            continue
        fields = _columns(line)
        if fields[0] == DOCSTART:
            close()
            continue
        if len(fields) < 2 or not fields[-1]:
            raise TaggingError(
                "%s:%d: no tag column in %r (expected a token and its tag, separated by a tab or spaces)"
                % (path, number, line.strip())
            )
        if not fields[0]:
            raise TaggingError("%s:%d: empty token before the tag %r" % (path, number, fields[-1]))
        words.append(fields[0])
        tags.append(fields[-1])
        lines.append(number)
    close()
    if not sentences:
        raise TaggingError("%s: no sentences (the file is empty or holds only blank and -DOCSTART- lines)" % path)
    return sentences


def training_tags(sentences: Iterable[Sentence]) -> List[str]:
    """The IOB2 tag list of the entity types in `sentences`, types sorted: a stable order."""
    types = set()  # type: set
    for sentence in sentences:
        types.update(tag_types(sentence.tags))
    return tag_list(sorted(types))


def given_tags(labels: Sequence[str], scheme: str = IOB2, where: str = "--labels") -> List[str]:
    """The IOB2 tag list for labels a user gave (tags of `scheme`, e.g. a saved label_list.txt).

    Order: O, then B-/I- per type in the order the types first appear.
    """
    try:
        types = tag_types(labels, scheme)
    except TaggingError as e:
        raise TaggingError("%s: %s" % (where, e))
    return tag_list(types)


def check_known_tags(sentences: Iterable[Sentence], tags: Sequence[str]) -> None:
    """Every tag of every sentence is in the tag list; else an error naming its line."""
    known = set(tags)
    for sentence in sentences:
        for index, tag in enumerate(sentence.tags):
            if tag not in known:
                _, label = split_tag(tag)
                raise TaggingError(
                    "%s: unknown tag %r: type %r is not among the labels (%s)"
                    % (sentence.where(index), tag, label, ", ".join(t for t in tags if t != OUTSIDE) or "none")
                )


def format_predictions(sentence: Sentence, predicted: Sequence[str], scheme: str = IOB2) -> str:
    """`token gold predicted` lines in the file's scheme, then a blank line (conlleval's input)."""
    gold = from_iob2(sentence.tags, scheme)
    guess = from_iob2(predicted, scheme)
    return "".join("%s %s %s\n" % (w, g, p) for w, g, p in zip(sentence.words, gold, guess)) + "\n"
