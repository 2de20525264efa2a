"""Catalog search (数据目录检索), in Chinese or English: `respool catalog search` and the static site's
search page run the same steps (the site's copy is catalog/site_assets/search.js; a browser test
compares the two on the same queries).

1. The query is normalised (NFKC, lower case) and split at spaces and punctuation.
2. A Chinese run is segmented by forward maximum matching against the catalog's own vocabulary —
   glossary terms and synonyms, table and column Chinese names. A general-purpose segmenter (jieba)
   does not know 净到期日 or 付款基准日 and would need its 20 MB dictionary in the browser too; the
   catalog's words are exactly the words worth matching. Characters the vocabulary does not know
   stay together as one word ("余额" stays "余额"): "客户应收账龄" → 客户 / 应收 / 账龄.
3. An entry matches when it carries every word: a Chinese word anywhere in its texts, a Latin word
   as a whole word or the start of one ("receivable" finds "receivables", "ar" does not find "clearing").
4. Each word counts at the strongest place it was found: name (表名/中文名) > glossary term >
   column (name, 中文描述, SAP field code) > description. Ranked by: the whole query is the entry's
   name; then the weakest word's place; then the sum; then layer order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from catalog.builder import Catalog

NAME, TERM, COLUMN, DESCRIPTION = 4, 3, 2, 1
PLACE_ZH = {NAME: "名称 name", TERM: "术语 glossary term", COLUMN: "字段 column", DESCRIPTION: "描述 description"}
# ties go to the tables analysts query first, glossary terms before them, delivered data last
PREFERRED_LAYERS = ("glossary", "dws", "dwd", "ads", "dim", "ref", "stg", "ods", "quarantine")
MAX_WORD = 8  # longest vocabulary word tried by the segmenter, in characters

_SPLIT = re.compile(r"[\s,，、;；:：()（）\[\]【】/\\|\"'“”‘’.。!?！？<>《》=+*&^%$#@~`-]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z0-9_]+")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


@dataclass(frozen=True)
class Document:
    """One searchable entry: a table or a glossary term, its texts by place."""

    kind: str  # table | term
    key: str  # schema.table, or the term
    layer: str  # the table's layer; "glossary" for a term
    name_zh: str
    summary: str  # one line
    names: tuple[str, ...]  # exact names (matched whole for the top rank)
    texts: tuple[tuple[int, str], ...]  # (place, normalised text)


@dataclass(frozen=True)
class Hit:
    document: Document
    exact: bool
    weakest: int
    total: int
    places: tuple[tuple[str, int], ...]  # (word, place)


def documents(catalog: Catalog) -> list[Document]:
    docs = []
    terms = {t.term: t for t in catalog.glossary}
    for t in catalog.tables:
        texts: list[tuple[int, str]] = [(NAME, t.table), (NAME, t.name), (NAME, t.name_zh), (NAME, t.name_en)]
        for term in t.terms:
            if term in terms:
                texts += [(TERM, w) for w in terms[term].words]
        for c in t.columns:
            texts += [(COLUMN, v) for v in (c.name, c.zh, c.en, c.sap_code, c.sensitivity) if v]
        texts += [(DESCRIPTION, v) for v in (t.description_zh, t.description_en, t.grain, t.domain, t.owner) if v]
        docs.append(Document("table", t.table, t.layer, t.name_zh, one_line(t.description_zh),
                             tuple(normalise(n) for n in (t.table, t.name, t.name_zh, t.name_en)),
                             tuple((p, normalise(v)) for p, v in texts)))
    for term in catalog.glossary:
        texts = [(NAME, term.term), (NAME, term.en)] + [(TERM, w) for w in (*term.synonyms, *term.sap)]
        texts += [(COLUMN, c) for c in term.columns]
        texts += [(DESCRIPTION, term.definition.zh), (DESCRIPTION, term.definition.en), (DESCRIPTION, term.domain)]
        docs.append(Document("term", term.term, "glossary", term.term, one_line(term.definition.zh),
                             (normalise(term.term), normalise(term.en)),
                             tuple((p, normalise(v)) for p, v in texts)))
    return docs


def one_line(text: str, limit: int = 60) -> str:
    first = re.split(r"(?<=[。；;])", text or "", maxsplit=1)[0].strip()
    return first if len(first) <= limit else first[: limit - 1] + "…"


def vocabulary(catalog: Catalog) -> list[str]:
    """The Chinese words the segmenter knows: glossary terms and synonyms, table and column names."""
    words: set[str] = set()
    sources = [w for term in catalog.glossary for w in (term.term, *term.synonyms)]
    sources += [t.name_zh for t in catalog.tables] + [c.zh or "" for t in catalog.tables for c in t.columns]
    for text in sources:
        for part in _SPLIT.split(normalise(text)):
            for run in _CJK.findall(part):
                if 2 <= len(run) <= MAX_WORD:
                    words.add(run)
    return sorted(words)


def segment(run: str, vocab: set[str]) -> list[str]:
    """Forward maximum matching of a Chinese run; unknown characters stay together as one word."""
    out: list[str] = []
    unknown = ""
    i = 0
    while i < len(run):
        for size in range(min(MAX_WORD, len(run) - i), 1, -1):
            if run[i:i + size] in vocab:
                if unknown:
                    out.append(unknown)
                    unknown = ""
                out.append(run[i:i + size])
                i += size
                break
        else:
            unknown += run[i]
            i += 1
    if unknown:
        out.append(unknown)
    return out


def query_words(query: str, vocab: set[str]) -> list[str]:
    words: list[str] = []
    for part in _SPLIT.split(normalise(query)):
        if not part:
            continue
        position = 0
        for match in _CJK.finditer(part):  # a part may mix scripts: "ar账龄"
            words += [w for w in _SPLIT.split(part[position:match.start()]) if w]
            words += segment(match.group(), vocab)
            position = match.end()
        if part[position:]:
            words.append(part[position:])
    return list(dict.fromkeys(words))


def latin_words(text: str) -> tuple[str, ...]:
    """`dwd_ar_item` -> dwd_ar_item, dwd, ar, item: identifiers whole and in parts."""
    words = _LATIN_WORD.findall(text)
    return tuple(words + [p for w in words if "_" in w for p in w.split("_") if p])


def found_in(word: str, text: str, words: tuple[str, ...]) -> bool:
    """A word with Chinese in it anywhere in the text; a Latin word as a word or a word's start."""
    if _CJK.search(word):
        return word in text
    return any(w.startswith(word) for w in words)


class Searcher:
    def __init__(self, catalog: Catalog) -> None:
        self.documents = documents(catalog)
        self.vocab = set(vocabulary(catalog))
        self._words = {id(d): [(p, text, latin_words(text)) for p, text in d.texts] for d in self.documents}

    def search(self, query: str, limit: int | None = 20) -> list[Hit]:
        words = query_words(query, self.vocab)
        if not words:
            return []
        whole = normalise(" ".join(query.split()))
        hits = []
        for doc in self.documents:
            places = []
            for word in words:
                best = max((p for p, text, latin in self._words[id(doc)] if found_in(word, text, latin)),
                           default=0)
                if best == 0:
                    break
                places.append((word, best))
            else:
                exact = whole in doc.names or whole.replace(" ", "") in doc.names
                hits.append(Hit(doc, exact, min(p for _, p in places), sum(p for _, p in places), tuple(places)))
        hits.sort(key=_rank)
        return hits[:limit] if limit else hits


def _rank(hit: Hit) -> tuple:
    layer = PREFERRED_LAYERS.index(hit.document.layer) if hit.document.layer in PREFERRED_LAYERS else -1
    return (not hit.exact, -hit.weakest, -hit.total, layer, hit.document.key)


def index_json(catalog: Catalog) -> dict:
    """What the static site's search page needs: the same documents and vocabulary."""
    return {
        "vocab": vocabulary(catalog),
        "documents": [{"kind": d.kind, "key": d.key, "layer": d.layer, "name_zh": d.name_zh, "summary": d.summary,
                       "names": list(d.names), "texts": [list(t) for t in d.texts]} for d in documents(catalog)],
        "layers": list(PREFERRED_LAYERS),
    }
