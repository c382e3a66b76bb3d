"""QA forms: the shipped form loads; a broken file gets one `file:line: message` line, for any
garbage (hypothesis), never a traceback; scoring agrees with a plain recount (N/A, weights,
auto-fail)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.services.quality.forms import (
    NA,
    NO,
    SCALE,
    YES,
    FormError,
    FormLibrary,
    parse_form,
    read_form,
    shipped_forms,
)
from console.services.quality.scoring import ScoringError, score

STANDARD = resources.files("console").joinpath("data", "qa_forms", "standard.toml").read_text()
LINE = re.compile(r"^x\.toml:(\d+): [^\n]+$")


def test_the_shipped_form_loads_with_its_auto_fail_item() -> None:
    [entry] = shipped_forms()
    assert entry.error == "" and entry.form is not None
    form = entry.form
    assert form.label == "standard v1"
    disclosure = form.question("disclosure")
    assert disclosure is not None and disclosure.auto_fail and disclosure.weight == 0
    assert {q.kind for q in form.questions} == {"yes_no", "scale"}


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("weight = 25", 'weight = "x"'), 70, "weight: must be a number from 0 to 100"),
        (('id = "notes"', 'id = "resolved"'), 73, "question id 'resolved' is used twice"),
        (("max = 5\nweight = 25", "max = 1\nweight = 25"), 68, "min 1 must be below max 1"),
        (('kind = "scale"\nmin = 1\nmax = 5\nweight = 15', 'kind = "stars"'), 38, "unknown value"),
        (("auto_fail = true", "auto_fail = 1"), 87, "must be true or false"),
        (("weight = 15\nna = true", "weight = 0\nna = true"), 27, "weight 0 is only"),
        (("pass_mark = 80", "pass_mark = 80\ncolour = 1"), 12, "unknown key 'colour'"),
        (("version = 1", "version = 1.5"), 9, "must be a whole number"),
    ],
)
def test_a_broken_form_names_the_file_and_line(
    change: tuple[str, str], line: int, words: str
) -> None:
    assert change[0] in STANDARD
    broken = STANDARD.replace(change[0], change[1], 1)
    with pytest.raises(FormError) as caught:
        parse_form("x.toml", broken)
    message = str(caught.value)
    assert LINE.match(message), message
    assert message.startswith(f"x.toml:{line}:"), message
    assert words in message


def test_unreadable_and_undecodable_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(FormError, match=r"missing\.toml:1: cannot read"):
        read_form(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'name = "a"\n\xff\xfe\n')
    with pytest.raises(FormError, match=r"bad\.toml:2: not UTF-8"):
        read_form(bad)


def test_a_broken_file_in_the_library_is_listed_and_the_rest_still_load(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("name = [\n")
    (tmp_path / "mine.toml").write_text(STANDARD.replace('name = "standard"', 'name = "mine"'))
    library = FormLibrary(tmp_path)
    assert [f.name for f in library.forms()] == ["mine", "standard"]
    [error] = library.errors()
    assert error.startswith(f"{tmp_path / 'broken.toml'}:") and "\n" not in error


_TOML_BITS = st.sampled_from(
    [
        "[[sections]]",
        "[[sections.questions]]",
        "[sections]",
        'name = "x"',
        "version = 1",
        'title = "T"',
        'id = "q"',
        'text = "Q?"',
        'kind = "scale"',
        'kind = "yes_no"',
        "min = 3",
        "max = 2",
        "weight = -1",
        "weight = 0",
        "na = true",
        "auto_fail = true",
        "pass_mark = 101",
        "sections = 3",
        "questions = []",
        "= =",
        '"""',
        "[",
        "x = {a = 1}",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOML_BITS | st.text(max_size=12), max_size=25))
def test_garbage_is_one_clear_line_never_a_traceback(bits: list[str]) -> None:
    text = "\n".join(bits)
    try:
        form = parse_form("x.toml", text)
    except FormError as exc:
        message = str(exc)
        assert LINE.match(message), message
        line = int(message.split(":")[1])
        assert 1 <= line <= max(1, text.count("\n") + 1)
    else:
        assert form.questions  # it parsed: then it is a usable form


# ------------------------------------------------------------------------------- scoring

FORM = parse_form("standard.toml", STANDARD)


def _answer_strategy() -> st.SearchStrategy[dict[str, object]]:
    per_question = {}
    for q in FORM.questions:
        options: list[object] = list(range(q.low, q.high + 1)) if q.kind == SCALE else [YES, NO]
        if q.na_allowed:
            options.append(NA)
        per_question[q.id] = st.sampled_from(options)
    return st.fixed_dictionaries(per_question)


@given(_answer_strategy())
def test_score_matches_a_plain_recount(answers: dict[str, object]) -> None:
    earned = possible = 0.0
    failed = False
    for q in FORM.questions:
        a = answers[q.id]
        if a == NA:
            continue
        possible += q.weight
        if q.kind == SCALE:
            assert isinstance(a, int)
            earned += q.weight * (a - q.low) / (q.high - q.low)
        elif a == YES:
            earned += q.weight
        elif q.auto_fail:
            failed = True
    expected_raw = 100 * earned / possible if possible else 100.0
    result = score(FORM, answers)
    assert result.raw == pytest.approx(expected_raw, abs=0.01)
    assert result.total == (0.0 if failed else pytest.approx(expected_raw, abs=0.01))
    assert result.auto_failed is failed
    assert result.passed is (not failed and result.total >= 80)


def test_na_takes_the_weight_out_and_auto_fail_zeroes_the_form() -> None:
    perfect = {q.id: (q.high if q.kind == SCALE else YES) for q in FORM.questions}
    assert score(FORM, perfect).total == 100.0
    # identity (15) N/A and listening 3 of 1-5 (half of 15): 92.5 of 85 possible
    partial = perfect | {"identity": NA, "listening": 3}
    assert score(FORM, partial).total == pytest.approx(100 * 77.5 / 85, abs=0.01)
    failed = perfect | {"disclosure": NO}
    result = score(FORM, failed)
    assert (result.total, result.raw, result.failed_items) == (0.0, 100.0, ("disclosure",))
    with pytest.raises(ScoringError, match="not answered: greeting"):
        score(FORM, {k: v for k, v in perfect.items() if k != "greeting"})
    with pytest.raises(ScoringError):
        score(FORM, perfect | {"greeting": NA})  # N/A not allowed there
