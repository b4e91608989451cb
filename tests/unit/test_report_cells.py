"""Exported cells never run as formulas (``clausier.reports.safe``), and the charts' scales."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from clausier.reports.charts import nice_step
from clausier.reports.safe import neutralise


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x")', "+33 2 31 00 00 00", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"],
)
def test_a_text_that_a_spreadsheet_would_run_gets_a_leading_quote(text):
    assert neutralise(text) == "'" + text


def test_the_example_of_the_issue():
    assert neutralise('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'


@pytest.mark.parametrize("text", ["Réhabilitation du collège", "", "a=b", " =1", "'=déjà"])
def test_ordinary_text_is_left_alone(text):
    assert neutralise(text) == text


@pytest.mark.parametrize("value", [-12, -3.5, Decimal("-0.25"), 0, 42, None, date(2027, 1, 1)])
def test_numbers_stay_numbers_even_negative(value):
    assert neutralise(value) is value


def test_a_neutralised_cell_is_text_in_a_workbook():
    book = Workbook()
    book.active.append([neutralise('=HYPERLINK("http://x")'), neutralise(-12)])
    out = io.BytesIO()
    book.save(out)
    read = load_workbook(io.BytesIO(out.getvalue())).active
    assert read["A1"].data_type == "s" and read["A1"].value == '\'=HYPERLINK("http://x")'
    assert read["B1"].data_type == "n" and read["B1"].value == -12


@pytest.mark.parametrize(
    ("top", "step"), [(0, 1), (3, 1), (847.95, 250), (1000, 250), (40, 10), (0.5, 0.2)]
)
def test_chart_steps_are_round(top, step):
    assert nice_step(top) == pytest.approx(step)
