"""Tag schemes: IOB2 inside, IOB1 and BIOES accepted and converted, and entity spans.

Everything inside the project (label ids, metrics, the client) works on IOB2:
`B-type` starts an entity, `I-type` continues one of the same type, `O` is
outside. Data in IOB1 (`I-` starts an entity, `B-` only between two adjacent
entities of one type) or BIOES (`S-` single, `E-` end) is converted on reading
and converted back when predictions are written next to the gold tags.

Invalid sequences: in data, a sequence the scheme does not allow (an IOB2 `I-x`
after `O`, a BIOES `B-x` that never ends) is an error naming the tag. In model
output, `repair` makes an `I-x` that does not continue an `x` entity start a
new one (the documented choice of the client and the evaluation: what is
scored is what the client returns).
"""

import re
from typing import List, NamedTuple, Optional, Sequence, Tuple

from tagging.errors import TaggingError

OUTSIDE = "O"
IOB1, IOB2, BIOES = "IOB1", "IOB2", "BIOES"
SCHEMES = (IOB2, IOB1, BIOES)
_PREFIXES = {IOB1: "BI", IOB2: "BI", BIOES: "BIES"}
_TAG = re.compile(r"^([A-Z])-(\S+)$")


class Entity(NamedTuple):
    """Words `[start, end)` of one entity of type `label`."""

    label: str
    start: int
    end: int


def check_scheme(scheme: str) -> str:
    name = (scheme or "").upper()
    if name not in SCHEMES:
        raise TaggingError("unknown tag scheme %r (choose from %s)" % (scheme, ", ".join(SCHEMES)))
    return name


def split_tag(tag: str, scheme: str = IOB2) -> Tuple[str, Optional[str]]:
    """("B", "person") for "B-person", ("O", None) for "O"; TaggingError for anything else."""
    if tag == OUTSIDE:
        return OUTSIDE, None
    match = _TAG.match(tag)
    if match is None or match.group(1) not in _PREFIXES[scheme]:
        allowed = ", ".join("%s-<type>" % p for p in _PREFIXES[scheme])
        raise TaggingError("tag %r is not a %s tag (expected O, %s)" % (tag, scheme, allowed))
    return match.group(1), match.group(2)


def to_iob2(tags: Sequence[str], scheme: str = IOB2) -> List[str]:
    """The tags in IOB2; TaggingError (with the index) when the sequence is not valid in `scheme`."""
    parsed = []  # type: List[Tuple[str, Optional[str]]]
    for index, tag in enumerate(tags):
        try:
            parsed.append(split_tag(tag, scheme))
        except TaggingError as e:
            raise TaggingError(str(e), index)
    converter = {IOB2: _from_valid_iob2, IOB1: _from_iob1, BIOES: _from_bioes}[scheme]
    return converter(parsed)


def _describe(previous: Tuple[str, Optional[str]]) -> str:
    prefix, label = previous
    return "the start of the sentence" if prefix == "" else OUTSIDE if label is None else "%s-%s" % previous


def _from_valid_iob2(parsed: List[Tuple[str, Optional[str]]]) -> List[str]:
    previous = ("", None)  # type: Tuple[str, Optional[str]]
    for index, (prefix, label) in enumerate(parsed):
        if prefix == "I" and previous[1] != label:
            raise TaggingError(
                "I-%s after %s is not valid IOB2 (an entity starts with B-; is the file IOB1?)"
                % (label, _describe(previous)),
                index,
            )
        previous = (prefix, label)
    return _join(parsed)


def _from_iob1(parsed: List[Tuple[str, Optional[str]]]) -> List[str]:
    result = []
    previous_label = None  # type: Optional[str]
    for prefix, label in parsed:
        if prefix == "I" and previous_label != label:
            prefix = "B"
        result.append((prefix, label))
        previous_label = label
    return _join(result)


def _from_bioes(parsed: List[Tuple[str, Optional[str]]]) -> List[str]:
    result = []
    open_label = None  # type: Optional[str]  # type of the entity a B-/I- left open
    for index, (prefix, label) in enumerate(parsed):
        if prefix in ("I", "E") and open_label != label:
            raise TaggingError(
                "%s-%s does not continue a %s entity (BIOES: B-%s first)" % (prefix, label, label, label), index
            )
        if prefix in ("B", "S", OUTSIDE) and open_label is not None:
            raise TaggingError("the %s entity before %s has no E-%s (BIOES)" % (open_label, _describe((prefix, label)), open_label), index)
        result.append(("B" if prefix == "S" else "I" if prefix == "E" else prefix, label))
        open_label = label if prefix in ("B", "I") else None
    if open_label is not None:
        raise TaggingError("the %s entity at the end of the sentence has no E-%s (BIOES)" % (open_label, open_label), len(parsed) - 1)
    return _join(result)


def _join(parsed: Sequence[Tuple[str, Optional[str]]]) -> List[str]:
    return [OUTSIDE if label is None else "%s-%s" % (prefix, label) for prefix, label in parsed]


def repair(tags: Sequence[str]) -> List[str]:
    """IOB2 tags where an `I-x` that does not continue an `x` entity becomes `B-x`."""
    result = []
    previous_label = None  # type: Optional[str]
    for tag in tags:
        prefix, label = split_tag(tag)
        if prefix == "I" and previous_label != label:
            tag = "B-" + label
        result.append(tag)
        previous_label = label
    return result


def from_iob2(tags: Sequence[str], scheme: str) -> List[str]:
    """Valid IOB2 tags written in `scheme` (what `to_iob2` reads back to the same tags)."""
    parsed = [split_tag(tag) for tag in tags]
    result = []
    for index, (prefix, label) in enumerate(parsed):
        previous_label = parsed[index - 1][1] if index else None
        continues = index + 1 < len(parsed) and parsed[index + 1] == ("I", label)
        if label is None or scheme == IOB2:
            pass
        elif scheme == IOB1:
            prefix = "B" if prefix == "B" and previous_label == label else "I"
        elif prefix == "B":
            prefix = "B" if continues else "S"
        else:
            prefix = "I" if continues else "E"
        result.append((prefix, label))
    return _join(result)


def entities(tags: Sequence[str]) -> List[Entity]:
    """Entities of an IOB2 sequence, strictly: `B-x` then `I-x`s; an `I-x` that starts nothing is ignored."""
    found = []
    start = None  # type: Optional[int]
    label = None  # type: Optional[str]
    for index, tag in enumerate(list(tags) + [OUTSIDE]):
        prefix, tag_label = split_tag(tag)
        if start is not None and not (prefix == "I" and tag_label == label):
            found.append(Entity(label, start, index))
            start = None
        if prefix == "B":
            start, label = index, tag_label
    return found


def tag_list(labels: Sequence[str]) -> List[str]:
    """The IOB2 tags of entity types, in id order: O, then B-/I- per type in the order given."""
    tags = [OUTSIDE]
    for label in labels:
        tags += ["B-" + label, "I-" + label]
    return tags


def tag_types(tags: Sequence[str], scheme: str = IOB2) -> List[str]:
    """Entity types named by tags of `scheme`, in order of first appearance."""
    types = []  # type: List[str]
    for index, tag in enumerate(tags):
        try:
            _, label = split_tag(tag, scheme)
        except TaggingError as e:
            raise TaggingError(str(e), index)
        if label is not None and label not in types:
            types.append(label)
    return types
