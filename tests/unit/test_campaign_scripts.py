"""Campaign scripts: fields filled as plain text, branching surveys, errors with file:line."""

from __future__ import annotations

import pytest

from console.services.outbound.scripts import (
    ScriptError,
    ScriptFields,
    load_script,
    render,
)

SURVEY = """\
text = "Hello {first_name}, this is {agent} about your {tier} membership."
closing = "Thank you, {first_name}."

[[questions]]
id = "satisfied"
text = "Are you satisfied with our service?"
kind = "yes_no"
next = { no = "why" }
then = "score"

[[questions]]
id = "why"
text = "What could we do better?"

[[questions]]
id = "score"
text = "From 1 to 10, would you recommend us?"
kind = "scale"
low = 1
high = 10

[[questions]]
id = "channel"
text = "How do you prefer to hear from us?"
kind = "choice"
choices = ["Phone", "Email", "Letter"]
next = { Letter = "end" }
"""

FIELDS = ScriptFields(
    name="Ann Lee",
    first_name="Ann",
    tier="gold",
    language="en",
    lifetime_value="USD 1,200.00",
    agent="Sam",
    campaign="Winback",
)


def test_fields_are_filled_in() -> None:
    script = load_script("survey.toml", SURVEY)
    assert render(script.text, FIELDS) == ("Hello Ann, this is Sam about your gold membership.")


def test_customer_data_is_plain_text_in_the_script() -> None:
    script = load_script("survey.toml", SURVEY)
    hostile = ScriptFields(
        "x", "\x1b]0;owned\x07[bold red]Ann{agent}\x1b[2J\nline", "gold", "en", "", "Sam", "W"
    )
    shown = render(script.text, hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\n" not in shown
    # Markup and braces in a value stay literal: the value is not a template.
    assert "[bold red]Ann{agent}" in shown


def test_a_survey_branches_on_the_answers() -> None:
    script = load_script("survey.toml", SURVEY)
    assert script.first() == "satisfied"
    satisfied = script.question("satisfied")
    assert satisfied.check("Y") == "yes" and satisfied.check("maybe") is None
    assert script.next_after("satisfied", "no") == "why"
    assert script.next_after("satisfied", "yes") == "score"  # `then`, not the next in order
    assert script.next_after("why", "slow answers") == "score"
    score = script.question("score")
    assert score.check("7") == "7" and score.check("11") is None and score.check("x") is None
    assert script.next_after("score", "7") == "channel"
    channel = script.question("channel")
    assert channel.check("email") == "Email"
    assert script.next_after("channel", "Letter") is None
    assert script.next_after("channel", "Email") is None  # the last question


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('text = "Hi {nickname}"', "survey.toml:1: text: unknown field {nickname}"),
        ('text = "Hi {name"', "survey.toml:1: text:"),
        (
            '[[questions]]\nid = "a"\ntext = "A?"\nkind = "choice"\n',
            "survey.toml:1: questions[1].choices: a choice question needs choices",
        ),
        (
            '[[questions]]\nid = "a"\ntext = "A?"\nthen = "zzz"\n',
            "survey.toml:4: questions[1].then: no question 'zzz'",
        ),
        (
            '[[questions]]\nid = "a"\ntext = "A?"\nkind = "yes_no"\nnext = { maybe = "end" }\n',
            "survey.toml:5: questions[1].next: 'maybe' is not an answer",
        ),
        (
            '[[questions]]\nid = "a"\ntext = "A?"\n\n'
            '[[questions]]\nid = "b"\ntext = "B?"\nthen = "a"\n',
            "survey.toml:2: questions[1].id: question 'a' can lead back to itself",
        ),
        ('text = "Hi"\ncolour = "red"', "survey.toml:2: unknown key 'colour'"),
    ],
)
def test_a_bad_script_is_one_line_naming_file_and_line(body: str, message: str) -> None:
    with pytest.raises(ScriptError) as caught:
        load_script("survey.toml", body)
    assert str(caught.value).startswith(message), str(caught.value)
