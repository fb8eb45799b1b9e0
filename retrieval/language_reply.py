"""The reply to a question in another language than the framework's: in the asker's language
(with the framework's language after it), and the objectives its named things point to.

Offline the engine cannot read the question, but some of its words need no translation:
acronyms ("NCB", "I-24/7"), ids ("2.4"), names and cognates the framework itself uses
("terrorismo" → "terrorism", "cybercriminalité" → "cybercrime"). Those words alone are matched
against the objectives' own words; a word most objectives share ("INTERPOL") names none. The
ids found are listed as possible, never as an answer."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from framework_data.schema import Framework

from .language import language_name

MAX_IDS = 3
MIN_COGNATE = 5  # a shared beginning of at least 5 letters…
COGNATE_SHARE = 0.75  # …and three quarters of the shorter word: "terrorismo" ~ "terrorism"
# A word matching more objectives than this (a share of them, at least MIN_SPREAD) names none.
MAX_SPREAD_SHARE = 0.1
MIN_SPREAD = 3
COMMON_IN_OWN_LANGUAGE = 4.5  # "formation", "objectif": words of the question's own language


@dataclass(frozen=True)
class Template:
    lead: str  # says the question is in this language and the framework's is English
    ids: str  # lists the possibly related objectives: {ids}


# Written for an English framework; another framework's language gets the English fallback.
TEMPLATES: dict[str, Template] = {
    "fr": Template(
        "Votre question semble être en français. Je ne lis pour l'instant que l'anglais, la "
        "langue de « {title} » : merci de la poser en anglais.",
        "Objectifs peut-être concernés, d'après les noms cités (à vérifier) : {ids}.",
    ),
    "es": Template(
        "Su pregunta parece estar en español. Por ahora solo leo inglés, el idioma de "
        "«{title}»: por favor, hágala en inglés.",
        "Objetivos posiblemente relacionados, según los nombres que menciona (sin confirmar): "
        "{ids}.",
    ),
    "de": Template(
        "Ihre Frage scheint auf Deutsch zu sein. Ich kann vorerst nur Englisch lesen, die "
        "Sprache von „{title}“: Bitte stellen Sie sie auf Englisch.",
        "Möglicherweise betroffene Ziele, nach den genannten Namen (unsicher): {ids}.",
    ),
    "pt": Template(
        "A sua pergunta parece estar em português. Por enquanto só leio inglês, a língua de "
        "«{title}»: por favor, faça-a em inglês.",
        "Objetivos possivelmente relacionados, pelos nomes citados (sem certeza): {ids}.",
    ),
    "it": Template(
        "La sua domanda sembra in italiano. Per ora leggo solo l'inglese, la lingua di "
        "«{title}»: la ponga in inglese, per favore.",
        "Obiettivi forse collegati, in base ai nomi citati (da verificare): {ids}.",
    ),
    "ru": Template(
        "Похоже, ваш вопрос на русском языке. Пока я понимаю только английский — язык "
        "документа «{title}». Пожалуйста, задайте вопрос на английском.",
        "Возможно, связанные цели (по упомянутым названиям, без уверенности): {ids}.",
    ),
    "ar": Template(
        "يبدو أن سؤالك باللغة العربية. لا أستطيع حاليًا قراءة سوى اللغة الإنجليزية، وهي لغة "
        "«{title}»: يُرجى طرح سؤالك بالإنجليزية.",
        "أهداف قد تكون ذات صلة، بحسب الأسماء الواردة في سؤالك (غير مؤكد): {ids}.",
    ),
    "zh": Template(
        "您的问题似乎是中文。目前我只能读懂英文（《{title}》的语言），请用英文提问。",
        "根据问题中提到的名称，可能相关的目标（不确定）：{ids}。",
    ),
    "nl": Template(
        "Uw vraag lijkt in het Nederlands te zijn. Voorlopig lees ik alleen Engels, de taal "
        "van ‘{title}’: stel uw vraag alstublieft in het Engels.",
        "Mogelijk betrokken doelstellingen, op basis van de genoemde namen (onzeker): {ids}.",
    ),
}


def english_lead(code: str, framework: Framework) -> str:
    mine = language_name(framework.language)
    theirs = language_name(code) if code != "??" else "another language"
    return (
        f"Your question looks like {theirs}. I can only read {mine} for now, the language "
        f"{framework.title} is written in: please ask in {mine}. (A chat model, if your "
        "workspace sets one up, can read other languages.)"
    )


def other_language_reply(code: str, question: str, framework: Framework) -> tuple[str, list[str]]:
    """The reply's text and the ids of the objectives the question's named things point to
    (possibly none)."""
    ids = likely_ids(question, framework, code)
    english = english_lead(code, framework)
    if ids:
        english += f" Possibly related, from the names in your question: {', '.join(ids)}."
    template = TEMPLATES.get(code) if framework.language == "en" else None
    if template is None:
        return english, ids
    own = template.lead.format(title=framework.title)
    if ids:
        own += " " + template.ids.format(ids=", ".join(ids))
    return f"{own}\n\n{english}", ids


def likely_ids(question: str, framework: Framework, code: str = "??") -> list[str]:
    """Ids the question names ("2.4"), then the objectives its acronyms, names and cognates
    point to, likeliest first; at most MAX_IDS."""
    known = framework.citation_ids()
    named = [i for i in re.findall(r"(?<![\w.])[A-Za-z]?\d+(?:\.\d+)*(?![\w])", question)]
    out = list(dict.fromkeys(i for i in named if i in known and i not in _STATEMENTS))
    vocab = _vocabulary(framework)
    total = len(vocab)
    spread = max(MIN_SPREAD, math.floor(total * MAX_SPREAD_SHARE))
    scores: dict[str, float] = {}
    for token in _named_tokens(question, code):
        hits = {oid for oid, words in vocab.items() if any(_same(token, w) for w in words)}
        if not hits or len(hits) > spread:
            continue
        weight = math.log(1 + total / len(hits))
        for oid in hits:
            scores[oid] = scores.get(oid, 0.0) + weight
    order = {oid: n for n, oid in enumerate(vocab)}
    for oid in sorted(scores, key=lambda o: (-scores[o], order[o])):
        if oid not in out:
            out.append(oid)
    return out[:MAX_IDS]


_STATEMENTS = {"vision", "mission", "values"}


def _named_tokens(question: str, code: str) -> list[str]:
    """The question's words that may need no translation: acronyms, names, ids like
    "I-24/7", and words too rare in the question's own language to be its everyday words."""
    from .language import has_word_list, word_table

    listed = code not in {"en", "??"} and has_word_list(code)
    common: dict[str, float] = word_table(code) if listed else {}
    out: list[str] = []
    for raw in question.split():
        token = raw.strip("¿¡?!.,;:«»\"'“”„‘’()[]。？！，：；")
        if not token or not any(c.isalpha() for c in token):
            continue
        acronym = sum(1 for c in token if c.isupper()) >= 2 or any(c.isdigit() for c in token)
        if acronym:
            out.append(_norm(token))
            continue
        for part in re.split(r"['’-]", token):
            if len(part) >= MIN_COGNATE and common.get(part.lower(), 0.0) < COMMON_IN_OWN_LANGUAGE:
                out.append(_norm(part))
    return list(dict.fromkeys(out))


def _same(token: str, word: str) -> bool:
    if token == word:
        return True
    if not (token.isalpha() and word.isalpha()):
        return False
    shorter = min(len(token), len(word))
    if shorter < MIN_COGNATE:
        return False
    prefix = 0
    for a, b in zip(token, word, strict=False):
        if a != b:
            break
        prefix += 1
    return prefix >= MIN_COGNATE and prefix >= COGNATE_SHARE * shorter


_vocabularies: dict[str, dict[str, frozenset[str]]] = {}


def _vocabulary(framework: Framework) -> dict[str, frozenset[str]]:
    """Each objective's words (its text, short title and keywords), normalised."""
    key = framework.content_hash()
    if key not in _vocabularies:
        if len(_vocabularies) > 8:
            _vocabularies.clear()
        _vocabularies[key] = _vocabulary_of(framework)
    return _vocabularies[key]


def _vocabulary_of(framework: Framework) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for _, objective in framework.objectives():
        text = " ".join([objective.text, objective.title or "", *objective.keywords])
        words = {_norm(t.strip(".,;:()\"'“”’")) for t in text.split()}
        words |= {_norm(p) for t in text.split() for p in re.split(r"[^\w]", t) if p}
        out[objective.id] = frozenset(w for w in words if w)
    return out


def _norm(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
