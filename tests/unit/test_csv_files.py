"""The dashboard's CSV reading and writing: delimiters, encodings, line numbers that match what an
editor shows, and exports a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.dashboard.csv_files import csv_line, safe_cell
from autorelay_core.domain import csv_rows
from autorelay_core.errors import Invalid

read_rows = partial(csv_rows.read_rows, max_rows=500_000, max_columns=50)


def test_semicolons_a_bom_blank_lines_and_quoted_line_breaks_keep_their_lines():
    data = '\ufeffEmail;Name\r\na@x.com;A\r\n\r\n"b@x.com";"B, two\nlines"\r\nc@x.com;C\r\n'.encode()
    header, rows = read_rows(data)
    assert header == ["Email", "Name"]
    assert rows == [(2, ["a@x.com", "A"]), (4, ["b@x.com", "B, two\nlines"]), (6, ["c@x.com", "C"])]


def test_latin1_files_and_tabs_are_read_and_binary_is_refused():
    header, rows = read_rows("email\tname\njo@x.com\tJosé\n".encode("latin-1"))
    assert header == ["email", "name"] and rows == [(2, ["jo@x.com", "José"])]
    with pytest.raises(Invalid, match="not a CSV file"):
        read_rows(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(Invalid, match="empty"):
        read_rows(b"\n\n")


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_start_like_formulas_are_defused(value):
    assert safe_cell(value) == "'" + value
    assert safe_cell("plain") == "plain" and safe_cell(None) == ""


@given(
    st.lists(
        st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20), min_size=1, max_size=4),
        min_size=1,
        max_size=5,
    )
)
def test_what_is_written_reads_back(rows):
    text = "".join(csv_line(row) for row in rows)
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert back == [[safe_cell(cell) for cell in row] for row in rows]


def test_a_file_stops_being_read_at_its_first_limit():
    many = b"email\n" + b"a@x.com\n" * 1_000
    _, rows = csv_rows.read_rows(many, max_rows=1_000, max_columns=50)
    assert len(rows) == 1_000
    with pytest.raises(Invalid, match="more than 999 rows"):
        csv_rows.read_rows(many, max_rows=999, max_columns=50)
    wide = b"email,name\na@x.com,A\n" + b"," * 2_800_000 + b"\n"
    with pytest.raises(Invalid, match="Line 3 has 2,800,001 cells; at most 50"):
        read_rows(wide)
    with pytest.raises(Invalid, match="near line 2"):
        read_rows(b"email\n" + b"x" * 200_000 + b"\n")
    _header, rows = read_rows(b"email,name\na@x.com,A,,,extra\n" + "b@x.com,Zo\xe9\n".encode("latin-1"))
    assert rows == [(2, ["a@x.com", "A"]), (3, ["b@x.com", "Zo\xe9"])], "cells past the header's width are not kept"


def test_a_blank_line_between_rows_does_not_lose_the_delimiter():
    # csv.Sniffer gives up on this file (the blank line breaks its consistency count): it was read as
    # one column, and no email column was found.
    data = "E-mail;Full name\r\nann@example.com;Ann\r\n\r\nbob@example.com;Bob\r\n".encode("latin-1")
    header, rows = read_rows(data)
    assert header == ["E-mail", "Full name"] and rows == [
        (2, ["ann@example.com", "Ann"]),
        (4, ["bob@example.com", "Bob"]),
    ]


def test_a_header_the_sniffer_cannot_place_is_split_on_the_delimiter_it_holds_most_of():
    header, rows = read_rows(b"email|name\n\nann@example.com|Ann\n\n\nbob@example.com|\n")
    assert header == ["email", "name"] and [cells for _, cells in rows] == [
        ["ann@example.com", "Ann"],
        ["bob@example.com", ""],
    ]


def test_mapped_rows_name_the_fields_and_refuse_a_file_without_an_email_column():
    from autorelay_core.domain.imports import guess_mapping

    header, rows = read_rows(b"E-Mail,Full Name,Organisation\nann@example.com,Ann ,\n")
    assert list(csv_rows.mapped_rows(header, rows, guess_mapping(header))) == [
        (2, {"email": "ann@example.com", "name": "Ann"})
    ]
    with pytest.raises(Invalid, match="no email column"):
        csv_rows.mapped_rows(["who", "what"], [], guess_mapping(["who", "what"]))
