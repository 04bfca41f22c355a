"""Rebuilds the words that are never a topic (chalicelib/insight/not_subjects.json) from treebanks,
and measures what the topics' terms are on real sentences, before and after.

Why: a topic is a subject ("battery", "pedido"), but the offline key phrases are runs of words
between stop words, so verbs, pronouns and adverbs ("arrived", "chegou", "nobody") came out as
topics. Universal Dependencies treebanks tag every word of real sentences with its part of speech;
a word form the treebank tags as a noun or a name at most one time in five (and seen at least
three times) is taken as never a subject, in its language. Never listed: English forms in -ing
("shipping", "billing" and "booking" are what customers talk about, whatever the treebank's tag),
a form another of the six languages uses as a noun, a form seen only with a last accent that
folding takes off (Spanish "trasladó" is a verb, "traslado" a noun), and KEEP.

Measured two ways round: the list made from one half of each treebank, measured on the other
half, and the other way: the share of terms that are nouns or names, and the share of the nouns
in the key phrases that stay terms (with the list, and with none). The list shipped is made from
both halves.

    python -m tools.nlp.topic_words [--mirror /work/.mirror]

Sources (all CC BY-SA; repository @ commit; files) are in TREEBANKS; tools/nlp/DATA.md cites them.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

from chalicelib.insight.topics import NOT_SUBJECTS_PATH, VERB_ENDINGS, terms
from chalicelib.nlp.local_extract import key_phrases
from chalicelib.nlp.text import fold
from tools.nlp.corpora import MirrorMissing, show

# language: [(repository, commit, one half's files, the other half's)]. Where a treebank publishes
# one file (PUD), its sentences alternate between the halves.
_UD = "UniversalDependencies/UD_"
Treebank = tuple[str, str, list[str], list[str]]
TREEBANKS: dict[str, list[Treebank]] = {
    "en": [(f"{_UD}English-EWT", "15d613d8447b3478787d4c278730a1e48a945efb",
            ["en_ewt-ud-dev.conllu"], ["en_ewt-ud-test.conllu"]),
           (f"{_UD}English-PUD", "f16eba4ae7f3d161870ed320676c5088b8fa476c", ["en_pud-ud-test.conllu"], [])],
    "pt": [(f"{_UD}Portuguese-Bosque", "5de7ac34028ff6d1718031a4b0ae895717ed8dbe",
            ["pt_bosque-ud-dev.conllu"], ["pt_bosque-ud-test.conllu"]),
           (f"{_UD}Portuguese-GSD", "691a8b597cc37e1c822ba808244c8eaca498eeb2",
            ["pt_gsd-ud-dev.conllu"], ["pt_gsd-ud-test.conllu"]),
           (f"{_UD}Portuguese-PUD", "be08a756d76bd79bf5d4a492dfdc28b46b33e76e", ["pt_pud-ud-test.conllu"], [])],
    "es": [(f"{_UD}Spanish-GSD", "57c045644664e5c1e169263cc4e3b95e40c078ba",
            ["es_gsd-ud-dev.conllu"], ["es_gsd-ud-test.conllu"]),
           (f"{_UD}Spanish-PUD", "818a82b8628c9cbec78750c7e83ccba34b9ce22b", ["es_pud-ud-test.conllu"], [])],
    "it": [(f"{_UD}Italian-PUD", "71d932aa096368331ba2fd9bc906ec8dd853da8e", ["it_pud-ud-test.conllu"], [])],
    "cs": [(f"{_UD}Czech-CAC", "a89ca01ff717f05692bbf5e70e8e781b5990cc53",
            ["cs_cac-ud-dev.conllu"], ["cs_cac-ud-test.conllu"]),
           (f"{_UD}Czech-PUD", "f68c66ccd8ab08fa343783a806fed446b905c07e", ["cs_pud-ud-test.conllu"], [])],
    "pl": [(f"{_UD}Polish-PUD", "a726e5866e7f134763d734e6d915b8faf10f552f", ["pl_pud-ud-test.conllu"], [])],
}  # fmt: skip
NOMINAL = frozenset({"NOUN", "PROPN"})
MOST_NOMINAL_SHARE = 0.2  # a form tagged noun or name at most this often is never a subject
LEAST_SEEN = 3  # at two, nouns a treebank happened to see as something else twice came in ("celular")
# Nouns of customer service that these treebanks (news, web, fiction) see as verbs or adjectives.
KEEP = {"en": {"watch", "hold", "wait", "prime", "united", "mobile"}, "pt": {"queixa", "celular"}, "es": {"llamado"}}

Sentence = tuple[str, list[tuple[str, str]]]  # its text; each word's form and part of speech


def sentences(conllu: str) -> Iterator[Sentence]:
    text, words = "", []
    for line in conllu.splitlines():
        if line.startswith("# text = "):
            text = line[len("# text = ") :]
        elif line and not line.startswith("#"):
            columns = line.split("\t")
            if columns[0].isdigit():  # not a multi-word token's range, not an empty node
                words.append((columns[1], columns[3]))
        elif not line and words:
            yield text, words
            text, words = "", []
    if words:
        yield text, words


def halves(mirror: Path, language: str) -> tuple[list[Sentence], list[Sentence]]:
    """The language's two halves: each treebank's dev and test files, or its one file's even and odd sentences."""
    one: list[Sentence] = []
    other: list[Sentence] = []
    for repo, commit, making, measuring in TREEBANKS[language]:
        read = [list(sentences(show(mirror, (repo, commit), name).decode("utf-8"))) for name in (*making, *measuring)]
        if measuring:
            one += [s for found in read[: len(making)] for s in found]
            other += [s for found in read[len(making) :] for s in found]
        else:
            every = [s for found in read for s in found]
            one += every[0::2]
            other += every[1::2]
    return one, other


def nouns(*halves: Sequence[Sentence]) -> frozenset[str]:
    """Every form a treebank tags a noun at least once."""
    return frozenset(fold(form.lower()) for half in halves for _, words in half for form, tag in words if tag == "NOUN")


def not_subjects(making: Sequence[Sentence], language: str, elsewhere: frozenset[str] = frozenset()) -> list[str]:
    """The forms `making` tags as a noun or a name at most MOST_NOMINAL_SHARE of the times seen,
    less those another language uses as a noun (`elsewhere`): Spanish news writes "pedido" as a
    verb ("ha pedido"), but a customer's "pedido" is the order, as Portuguese's treebank has it.
    Every spelling that folds to a form must qualify: "traslado" is a noun, "trasladó" a verb."""
    tags: dict[str, Counter[str]] = defaultdict(Counter)  # by spelling: folding joins "trasladó" to "traslado"
    for _, words in making:
        for form, tag in words:
            tags[form.lower()][tag] += 1
    spellings: dict[str, list[Counter[str]]] = defaultdict(list)
    plain: set[str] = set()  # forms seen without a last letter's accent that folding takes off
    for spelling, seen in tags.items():
        spellings[fold(spelling)].append(seen)
        if fold(spelling)[-1:] == spelling[-1:]:
            plain.add(fold(spelling))

    def hardly_nominal(seen: Counter[str]) -> bool:
        return sum(seen[tag] for tag in NOMINAL) <= MOST_NOMINAL_SHARE * sum(seen.values())

    return sorted(
        form
        for form, seen in spellings.items()
        if len(form) >= 4
        and form.isalpha()
        and form not in elsewhere
        and form in plain  # only "trasladó" seen, a verb: "traslado" may be the noun
        and form not in KEEP.get(language, ())
        and not (language == "en" and form.endswith("ing"))
        and sum(sum(one.values()) for one in seen) >= LEAST_SEEN
        and all(hardly_nominal(one) for one in seen)
    )


def measure(measuring: Sequence[Sentence], language: str, listed: Sequence[str], endings: bool) -> dict[str, float]:
    """On sentences the list was not made from: the share of terms that are nouns or names, terms
    per sentence, and the share of nouns (four letters or more) in key phrases that are terms."""
    nominal = found = seen_nouns = kept = 0
    for text, words in measuring:
        tags: dict[str, Counter[str]] = defaultdict(Counter)
        for form, tag in words:
            tags[fold(form.lower())][tag] += 1
        phrases = key_phrases(text, language, limit=50)
        analysis = {"language": language, "key_phrases": [{"text": p.text, "score": p.score} for p in phrases]}
        chosen = terms(analysis, limit=50, not_subjects=frozenset(listed), endings=endings)
        for term in chosen:
            if term in tags:
                found += 1
                nominal += tags[term].most_common(1)[0][0] in NOMINAL
        in_phrases = {fold(w.lower()) for p in phrases for w in p.text.split()}
        for form in in_phrases:
            if len(form) >= 4 and form in tags and tags[form].most_common(1)[0][0] == "NOUN":
                seen_nouns += 1
                kept += form in chosen
    return {
        "nominal_share": round(nominal / max(found, 1), 3),
        "terms_per_sentence": round(found / max(len(measuring), 1), 2),
        "nouns_kept": round(kept / max(seen_nouns, 1), 3),
    }


def ending_shares(sentences: Sequence[Sentence], language: str) -> dict[str, float]:
    """For each verb ending topics drop in this language (insight/topics.VERB_ENDINGS), the share
    of nouns and names among the words of four letters or more that end so: why it may be dropped."""
    seen: Counter[str] = Counter()
    nominal: Counter[str] = Counter()
    for _, words in sentences:
        for form, tag in words:
            folded = fold(form.lower())
            if len(folded) < 4 or not folded.isalpha():
                continue
            for ending in VERB_ENDINGS.get(language, ()):
                if folded.endswith(ending):
                    seen[ending] += 1
                    nominal[ending] += tag in NOMINAL
    return {ending: round(nominal[ending] / seen[ending], 3) for ending in seen}


def main() -> None:
    parser = argparse.ArgumentParser(description="Rebuild the words that are never a topic, and measure them.")
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    args = parser.parse_args()
    try:
        split = {language: halves(args.mirror, language) for language in TREEBANKS}
    except MirrorMissing as missing:
        raise SystemExit(f"topic_words: {missing}") from None

    def elsewhere(language: str, *, half: int | None = None) -> frozenset[str]:
        return nouns(
            *(halves[h] for other, halves in split.items() if other != language for h in (0, 1) if half in (None, h))
        )

    made = {
        language: not_subjects([*one, *other], language, elsewhere(language))
        for language, (one, other) in split.items()
    }
    NOT_SUBJECTS_PATH.write_text(json.dumps(made, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    for language, (one, other) in split.items():
        listed_by_half = (
            not_subjects(other, language, elsewhere(language, half=1)),
            not_subjects(one, language, elsewhere(language, half=0)),
        )
        for name, listed, endings in (
            ("none", ([], []), False),
            ("list", listed_by_half, False),
            ("list and endings", listed_by_half, True),
        ):
            figures = [
                measure(half, language, words, endings) for half, words in zip((one, other), listed, strict=True)
            ]
            mean = {key: round(sum(f[key] for f in figures) / 2, 3) for key in figures[0]}
            print(language, len(one) + len(other), "sentences", name, mean)
        if language in VERB_ENDINGS:
            print(language, "nouns and names among words with a verb ending", ending_shares([*one, *other], language))


if __name__ == "__main__":
    main()
