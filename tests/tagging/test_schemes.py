"""Tag schemes: IOB1/BIOES read into IOB2 and written back; invalid sequences named; repair."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagging import BIOES, IOB1, IOB2, Entity, TaggingError, entities, from_iob2, repair, tag_list, to_iob2

TYPES = ("per", "loc", "creative-work")
# Any sequence of tags, valid or not.
any_tags = st.lists(st.sampled_from(["O"] + [p + "-" + t for p in "BI" for t in TYPES]), max_size=12)
valid_iob2 = any_tags.map(repair)


def test_iob1_starts_entities_with_i_and_separates_neighbours_with_b():
    iob1 = ["I-per", "I-per", "B-per", "O", "I-loc", "I-creative-work"]
    assert to_iob2(iob1, IOB1) == ["B-per", "I-per", "B-per", "O", "B-loc", "B-creative-work"]
    assert from_iob2(to_iob2(iob1, IOB1), IOB1) == iob1


def test_bioes_single_begin_inside_end():
    bioes = ["S-per", "B-loc", "I-loc", "E-loc", "O", "B-per", "E-per"]
    iob2 = ["B-per", "B-loc", "I-loc", "I-loc", "O", "B-per", "I-per"]
    assert to_iob2(bioes, BIOES) == iob2
    assert from_iob2(iob2, BIOES) == bioes


@pytest.mark.parametrize("tags,scheme,index,message", [
    (["O", "I-per"], IOB2, 1, "I-per after O is not valid IOB2"),
    (["I-per"], IOB2, 0, "I-per after the start of the sentence"),
    (["B-loc", "I-per"], IOB2, 1, "I-per after B-loc"),
    (["B-per", "O"], BIOES, 1, "the per entity before O has no E-per"),
    (["B-per"], BIOES, 0, "at the end of the sentence has no E-per"),
    (["O", "E-per"], BIOES, 1, "E-per does not continue a per entity"),
    (["B-per", "I-per", "S-loc"], BIOES, 2, "before S-loc has no E-per"),
    (["O", "E-per"], IOB2, 1, "'E-per' is not a IOB2 tag"),
    (["PER"], IOB1, 0, "'PER' is not a IOB1 tag"),
    (["B-"], IOB2, 0, "'B-' is not a IOB2 tag"),
])
def test_sequences_that_cannot_be_converted_name_the_tag(tags, scheme, index, message):
    with pytest.raises(TaggingError, match=message) as info:
        to_iob2(tags, scheme)
    assert info.value.index == index


@settings(max_examples=300, deadline=None)
@given(valid_iob2, st.sampled_from([IOB1, IOB2, BIOES]))
def test_every_scheme_round_trips(tags, scheme):
    written = from_iob2(tags, scheme)
    assert to_iob2(written, scheme) == tags


@settings(max_examples=300, deadline=None)
@given(any_tags)
def test_repair_makes_valid_iob2_and_keeps_valid_sequences(tags):
    repaired = repair(tags)
    assert to_iob2(repaired, IOB2) == repaired
    assert repair(repaired) == repaired
    assert [t.split("-", 1)[-1] for t in repaired] == [t.split("-", 1)[-1] for t in tags]


def test_repair_starts_an_entity_at_a_stray_i():
    assert repair(["O", "I-per", "I-per", "I-loc"]) == ["O", "B-per", "I-per", "B-loc"]


def test_entities_are_strict_and_a_stray_i_is_no_entity():
    assert entities(["B-per", "I-per", "O", "B-loc", "B-loc", "I-per", "O", "I-loc"]) == [
        Entity("per", 0, 2), Entity("loc", 3, 4), Entity("loc", 4, 5)]


def test_tag_list_order():
    assert tag_list(["b", "a"]) == ["O", "B-b", "I-b", "B-a", "I-a"]
