"""Address, domain, name and size validation for day-2 commands (pure functions)."""

from __future__ import annotations

import pytest

from facteur.admin.validate import (
    MIB,
    format_size,
    normalize_address,
    normalize_alias_source,
    normalize_destination,
    normalize_domain,
    normalize_name,
    parse_size,
)
from facteur.errors import FacteurError


@pytest.mark.parametrize("given, expected", [
    ("Example.ORG", "example.org"),
    ("  example.org.  ", "example.org"),
    ("mail.sub-domain.example.co.uk", "mail.sub-domain.example.co.uk"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("BÜCHER.example", "xn--bcher-kva.example"),
])
def test_domains_are_normalised(given, expected):
    assert normalize_domain(given) == expected


@pytest.mark.parametrize("bad", [
    "", "localhost", "bad..domain", "-lead.example", "trail-.example", "under_score.example",
    "a" * 64 + ".example", "example.123", "space here.example", ("a." * 127) + "example",
    "straße.example",  # IDNA 2003 would silently turn ß into ss: refused, give the xn-- form
])
def test_bad_domains_are_refused(bad):
    with pytest.raises(FacteurError):
        normalize_domain(bad)


def test_idn_refusal_says_what_to_do():
    with pytest.raises(FacteurError, match="xn--"):
        normalize_domain("straße.example")


@pytest.mark.parametrize("given, expected", [
    ("Alice@Example.org", "alice@example.org"),
    (" first.last@example.org ", "first.last@example.org"),
    ("a_b-c@bücher.example", "a_b-c@xn--bcher-kva.example"),
])
def test_mailbox_addresses_are_normalised(given, expected):
    assert normalize_address(given) == expected


@pytest.mark.parametrize("bad", [
    "not-an-address", "@example.org", "alice@", "alice@@example.org", ".alice@example.org",
    "alice.@example.org", "al..ice@example.org", "al ice@example.org", "al/ice@example.org",
    "élise@example.org", "a" * 65 + "@example.org", "alice@bad..domain",
])
def test_bad_mailbox_addresses_are_refused(bad):
    with pytest.raises(FacteurError):
        normalize_address(bad)


def test_plus_is_reserved_for_extensions():
    with pytest.raises(FacteurError, match="reserved"):
        normalize_address("alice+news@example.org")


def test_error_quotes_the_input():
    with pytest.raises(FacteurError) as info:
        normalize_address("not-an-address")
    assert "not-an-address" in info.value.message
    assert "\n" not in info.value.message


@pytest.mark.parametrize("given, expected", [
    ("Bob+Lists@Elsewhere.NET", "bob+lists@elsewhere.net"),
    ("o'brien@example.org", "o'brien@example.org"),
])
def test_destinations_allow_any_dot_atom(given, expected):
    assert normalize_destination(given) == expected


@pytest.mark.parametrize("bad", ["nobody", "a,b@example.org", "a b@example.org", "é@example.org"])
def test_bad_destinations_are_refused(bad):
    with pytest.raises(FacteurError):
        normalize_destination(bad)


def test_alias_source_may_be_a_catch_all():
    assert normalize_alias_source("@Example.org") == "@example.org"
    assert normalize_alias_source("Info@example.org") == "info@example.org"


@pytest.mark.parametrize("given, expected", [
    ("0", 0),
    ("500M", 500 * MIB),
    ("500m", 500 * MIB),
    ("500MB", 500 * MIB),
    ("500MiB", 500 * MIB),
    ("2G", 2048 * MIB),
    ("2 GiB", 2048 * MIB),
    ("1.5G", 1536 * MIB),
    ("1T", 1024 * 1024 * MIB),
    ("2048", 2048 * MIB),  # no unit: MiB, PostfixAdmin's unit
])
def test_sizes_are_parsed_in_bytes(given, expected):
    assert parse_size(given) == expected


@pytest.mark.parametrize("bad", ["", "-1", "-1G", "2X", "G", "1.5", "0.3M", "1K", "ten", "2G2", "99999T"])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(FacteurError):
        parse_size(bad)


@pytest.mark.parametrize("size, text", [
    (0, "unlimited"),
    (500 * MIB, "500 MiB"),
    (2048 * MIB, "2 GiB"),
    (1536 * MIB, "1.5 GiB"),
    (1024**4, "1 TiB"),
])
def test_sizes_are_formatted(size, text):
    assert format_size(size) == text


def test_names_are_stripped_and_bounded():
    assert normalize_name("  Zoé Dupont ") == "Zoé Dupont"
    with pytest.raises(FacteurError):
        normalize_name("x" * 256)
    with pytest.raises(FacteurError):
        normalize_name("two\nlines")
