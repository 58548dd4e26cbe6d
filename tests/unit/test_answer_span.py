"""A clipped answer completed to the phrase its passage writes (assistant.answer_span)."""

import pytest

from assistant.answer_span import complete_span

PASSAGE = (
    "WASHINGTON (AP) — President Joe Biden delivered the eulogy on Thursday. Biden spoke "
    "for 25% of the service. Transportation Secretary Sean Duffy was named interim NASA "
    "chief, Trump said. On Monday, Rory McIlroy won. The ceasefire lasts 30 days. Apple CEO "
    "Tim Cook spoke. Fans watch \"Lilo & Stitch,\" the film. It cost $5 million. Officials "
    "counted 12 people, and 12 more. In Spain, first. It has 27 official rules. Experts "
    "said: choose water first. Fans of mcdonald’s came. It was the United States,” he said. A bear was seen. BOULDER, Colo. (AP) — Snow fell."
)


@pytest.mark.parametrize(("answer", "completed"), [
    ("Joe Biden", "President Joe Biden"),  # a title before a name
    ("Biden", "President Joe Biden"),  # its first mention, where news writes it whole
    ("Sean Duffy", "Transportation Secretary Sean Duffy"),
    ("McIlroy", "Rory McIlroy"),  # "Monday," ends a clause: not part of the name
    ("Tim Cook", "Apple CEO Tim Cook"),
    ("25", "25%"),  # as the passage writes it
    ("5 million", "$5 million"),
    ("5 million dollars", "$5 million"),  # the currency as the passage writes it
    ("30", "30 days"),  # a number's unit
    ("joe biden", "President joe biden"),  # a name in the passage; the reply's letters kept
    ("Lilo & Stitch", '"Lilo & Stitch"'),  # a quoted title is whole: "watch" stays out
    ("Spain .", "Spain."),  # "In" is a function word; the reply's full stop is kept
    ("Joe Biden!", "President Joe Biden!"),
    ("Water", "Water"),  # lower case in the passage: no name, "choose" stays out
    ("The United States", "The United States"),  # the quote and comma after it left out
    ("Bear", "Bear"),  # the reply's letters kept
    ("Boulder", "Boulder"),  # "BOULDER, Colo." in a dateline
    ("mcdonald's", "mcdonald’s"),  # the passage's apostrophe, the reply's case
])
def test_a_clipped_answer_is_completed_from_its_passage(answer, completed):
    assert complete_span(answer, PASSAGE) == completed


@pytest.mark.parametrize("answer", [
    "12",  # twice in the passage: which unit is meant is not known
    "Mars",  # not in the passage
    "Biden's",  # not word for word
    "Donald Trump named Sean Duffy interim NASA chief",  # a sentence, not a clipped phrase
    "Thursday",  # "the eulogy on" before it is lower case
    "12 dollars",  # "12" without a "$" in the passage
    "27",  # "27 official rules": an adjective, not the unit
    "",
])
def test_an_answer_the_passage_does_not_hold_as_a_phrase_stays(answer):
    assert complete_span(answer, PASSAGE) == answer


def test_the_widening_stops_after_three_words_and_at_brackets():
    passage = "Acme Widget Holdings Group Chair Ann Lee spoke. (Reuters) Lee said."
    assert complete_span("Ann Lee", passage) == "Holdings Group Chair Ann Lee"
    assert complete_span("Reuters", passage) == "Reuters"


def test_the_widening_stays_within_the_line():
    # A byline's last line before a dateline is not the name's title.
    passage = "The Associated Press\n\nNEW YORK (AP) — New York City is set to toll drivers.\n"
    assert complete_span("New York", passage) == "New York"
    assert complete_span("New York", "Jake Coyle\n  The Associated Press \n New York won.") == (
        "New York")
    assert complete_span("Joe Biden", "A line.\nPresident Joe Biden spoke.") == (
        "President Joe Biden")
