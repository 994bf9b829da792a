from datetime import date

import pytest
from django.core.exceptions import ValidationError

from monitoring.formulas import evaluate_formula, formula_codes, parse_formula
from monitoring.periods import parse_period


@pytest.mark.parametrize(
    ("text", "frequency", "start"),
    [
        ("2021", "annual", date(2021, 1, 1)),
        ("2021-Q3", "quarterly", date(2021, 7, 1)),
        ("2021-07", "monthly", date(2021, 7, 1)),
    ],
)
def test_a_written_period_gives_its_frequency_and_first_day(text, frequency, start):
    period = parse_period(text)
    assert (period.frequency, period.start, str(period)) == (frequency, start, text)


@pytest.mark.parametrize("text", ["2021-13", "2021-Q5", "21", "2021/07", "", "July 2021", "2021-7"])
def test_a_malformed_period_is_refused_with_a_message(text):
    with pytest.raises(ValidationError, match="is not a period"):
        parse_period(text)


def test_a_period_of_another_frequency_is_refused():
    with pytest.raises(ValidationError, match="monthly period but the indicator is annual"):
        parse_period("2021-07", "annual")


def test_shifting_a_period_crosses_year_ends():
    assert str(parse_period("2021-01").shift(-1)) == "2020-12"
    assert str(parse_period("2021-Q1").shift(-1)) == "2020-Q4"
    assert str(parse_period("2021-11").shift(14)) == "2023-01"
    assert str(parse_period("2021").shift(-12)) == "2009"


def test_import_dependency_formula_is_evaluated_without_eval():
    formula = "(CEREAL_IMP - CEREAL_EXP) / (CEREAL_PROD + CEREAL_IMP - CEREAL_EXP) * 100"
    # imports 2, exports 0.5, production 8.5: (1.5 / 10) * 100 = 15
    assert evaluate_formula(formula, {"CEREAL_IMP": 2.0, "CEREAL_EXP": 0.5, "CEREAL_PROD": 8.5}) == pytest.approx(15.0)
    assert formula_codes(formula) == {"CEREAL_IMP", "CEREAL_EXP", "CEREAL_PROD"}


@pytest.mark.parametrize(
    "formula", ["__import__('os').system('true')", "A.b", "A ** 2", "f(A)", "[A]", "'a'", "A if B else C"]
)
def test_a_formula_with_anything_but_arithmetic_is_refused(formula):
    with pytest.raises(ValidationError):
        parse_formula(formula)
