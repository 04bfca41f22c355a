"""Customer search's pure rules (rules/search.py): how names, handles, e-mail addresses and phone
numbers are normalised, which prefixes a name is found by, what kinds a query is tried as, and the
keyed hash; and the figures over linked customers (rules/linking.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.models.aggregates import Aggregates
from chalicelib.models.customer import Customer
from chalicelib.rules import search
from chalicelib.rules.linking import combine
from chalicelib.rules.search import EMAIL, HANDLE, NAME, PHONE, USER

KEY = b"k" * 32


def test_names_fold_case_accents_and_letters_nfkd_keeps_whole() -> None:
    assert search.normalise_name("  João   SILVA ") == "joao silva"
    assert search.normalise_name("ŁUKASZ Żółć") == "lukasz zolc"
    assert search.normalise_name("Ana-María O'Brien") == "ana maria obrien"
    assert search.normalise_name("Straße 😀 Søren") == "strasse soren"


def test_a_name_is_found_by_word_prefixes_and_whole_name_prefixes() -> None:
    terms = search.name_terms("João Silva")
    assert {"jo", "joa", "joao", "si", "sil", "silva", "joao s", "joao si", "joao silva"} <= terms
    assert not {"j", "s", "joao ", "silva joao", "oao"} & terms
    long_word = search.name_terms("Wolfeschlegelsteinhausen")
    assert max(len(t) for t in long_word) == search.NAME_PREFIX_MAX  # the whole name, cut
    assert "wolfeschlege" in long_word  # a word's prefixes stop at WORD_PREFIX_MAX
    assert search.name_terms(None) == set() == search.name_terms("  ")


@pytest.mark.parametrize(
    ("query", "name"),
    [("joão", "João Silva"), ("JO", "Joao Silva"), ("silv", "João Silva"), ("joao si", "João Silva")],
)
def test_name_queries_match_the_indexed_prefixes(query: str, name: str) -> None:
    (kind, value), *_ = search.query_terms(query)
    assert kind == NAME
    assert value in search.name_terms(name)
    indexed = {search.digest(KEY, NAME, term) for term in search.name_terms(name)}
    assert search.digest(KEY, NAME, value) in indexed


def test_a_query_too_long_for_the_prefixes_is_cut_to_what_is_indexed() -> None:
    name = "Wolfeschlegelsteinhausen Bergerdorff"
    assert search.name_query("wolfeschlegelstein") in search.name_terms(name)
    assert search.name_query("Wolfeschlegelsteinhausen Bergerdorff") in search.name_terms(name)


@given(st.lists(st.text(alphabet="abcdeáéíóúãçłøABCDE", min_size=1, max_size=20), min_size=1, max_size=4))
def test_any_prefix_of_any_word_of_two_or_more_letters_finds_the_name(words: list[str]) -> None:
    name = " ".join(words)
    terms = search.name_terms(name)
    for word in search.normalise_name(name).split():
        for length in range(2, len(word) + 1):
            query = search.name_query(word[:length])
            assert query is not None
            assert query in terms


def test_what_a_query_is_tried_as() -> None:
    assert search.query_terms("j") == []
    assert search.query_terms(" a ") == []
    assert search.query_terms("ana") == [(NAME, "ana"), (HANDLE, "ana"), (USER, "ana")]
    assert search.query_terms("@Ana.Silva") == [(HANDLE, "ana.silva")]
    assert search.query_terms("Ana.Silva") == [(NAME, "ana silva"), (HANDLE, "ana.silva"), (USER, "Ana.Silva")]
    assert search.query_terms("Ana@Example.COM") == [(EMAIL, "ana@example.com")]
    assert search.query_terms("+55 11 91234-5678") == [(PHONE, "5511912345678"), (USER, "+55 11 91234-5678")]
    assert search.query_terms("6100000001") == [(PHONE, "6100000001"), (USER, "6100000001")]
    assert search.query_terms("4242") == [(USER, "4242")]  # too short for a phone number


def test_phone_numbers_compare_by_their_digits_and_an_international_prefix() -> None:
    same = {search.normalise_phone(raw) for raw in ("+55 11 91234-5678", "5511912345678", "0055 (11) 91234.5678")}
    assert same == {"5511912345678"}
    assert search.normalise_phone("(11) 91234-5678") == "11912345678"  # no country code: not the same


def test_handles_and_emails_ignore_case_and_the_at_sign() -> None:
    assert search.normalise_handle("@Zofia_P") == search.normalise_handle("zofia_p") == "zofia_p"
    assert search.normalise_email(" Ana.Silva@Example.com ") == "ana.silva@example.com"


def test_a_profile_is_found_by_its_names_handle_and_user_id() -> None:
    terms = search.profile_terms("6100000001", "@zofia_p", "Zofia Przykład")
    assert (HANDLE, "zofia_p") in terms
    assert (USER, "6100000001") in terms
    assert (NAME, "przyklad") in terms
    assert {kind for kind, _ in terms} == {NAME, HANDLE, USER}
    assert search.profile_terms(None, None, None) == set()


def test_contacts_are_the_emails_and_phones_the_personal_data_patterns_find() -> None:
    text = "Meu e-mail é Ana@Example.com, cel +55 11 91234-5678; CPF 529.982.247-25, pedido 4821"
    assert search.contact_terms([text, None]) == {(EMAIL, "ana@example.com"), (PHONE, "5511912345678")}
    assert search.contact_terms(["Obrigado pela ajuda!", ""]) == set()
    many = " ".join(f"a{n}@example.com" for n in range(30))
    assert len(search.contact_terms([many])) == search.MAX_CONTACTS_PER_TEXT


def test_the_hash_is_keyed_and_separates_kinds() -> None:
    one = search.digest(KEY, EMAIL, "ana@example.com")
    assert one == search.digest(KEY, EMAIL, "ana@example.com")
    assert len(one) == 64
    assert set(one) <= set("0123456789abcdef")
    assert one != search.digest(b"another key", EMAIL, "ana@example.com")
    assert search.digest(KEY, HANDLE, "ana") != search.digest(KEY, NAME, "ana")
    assert "ana" not in one


def test_the_deploy_refuses_the_repositorys_search_key_in_every_stage() -> None:
    from tools.secrets import DEV_SECRETS_PATH, load_file, weak_keys

    dev = load_file(DEV_SECRETS_PATH)
    assert dev["search_key"]  # kept by the secrets tooling, not dropped as unknown
    own = {key: f"{key}-Kq8#vT2!pL9zR4wX7mN3bY6c" for key in ("meta_app_secret", "search_key")}
    assert weak_keys(own, dev, strict=False) == []
    assert weak_keys({**own, "search_key": dev["search_key"]}, dev, strict=False) == ["search_key"]


T0 = datetime(2025, 11, 22, 12, tzinfo=UTC)


def customer(customer_id: str, **figures: object) -> Customer:
    churn = figures.pop("churn", (0.0, ()))
    assert isinstance(churn, tuple)
    return Customer(
        customer_id=customer_id,
        created_at=T0,
        display_name=None,
        handle=None,
        aggregates=Aggregates(**figures),  # type: ignore[arg-type]
        churn_score=churn[0],
        churn_reasons=churn[1],
    )


def test_combined_figures_add_up_weigh_sentiment_by_samples_and_keep_the_highest_risk() -> None:
    ana = customer(
        "ana",
        interaction_count=3,
        platform_counts={"messenger": 3},
        sentiment_score=-0.6,
        sentiment_samples=3,
        first_contact_at=T0,
        last_contact_at=T0 + timedelta(days=1),
        churn=(0.4, ("negative trend",)),
    )
    other = customer(
        "ana-on-x",
        interaction_count=1,
        platform_counts={"x": 1, "messenger": 1},
        sentiment_score=0.2,
        sentiment_samples=1,
        first_contact_at=T0 - timedelta(days=2),
        last_contact_at=T0 + timedelta(days=3),
        churn=(0.9, ("cancel threat",)),
    )
    combined = combine([ana, other])
    assert combined.customer_ids == ("ana", "ana-on-x")
    assert combined.interaction_count == 4
    assert combined.platform_counts == {"messenger": 4, "x": 1}
    assert (combined.first_contact_at, combined.last_contact_at) == (T0 - timedelta(days=2), T0 + timedelta(days=3))
    assert combined.sentiment_trend == pytest.approx((-0.6 * 3 + 0.2) / 4)
    assert combined.sentiment_samples == 4
    assert (combined.churn_score, combined.churn_reasons, combined.churn_customer_id) == (
        0.9,
        ("cancel threat",),
        "ana-on-x",
    )
    assert combined.to_dict()["platforms"] == ["messenger", "x"]
    alone = combine([customer("quiet")])
    assert (alone.sentiment_trend, alone.churn_customer_id, alone.first_contact_at) == (None, None, None)
