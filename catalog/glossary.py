"""The business glossary (业务术语表, catalog/glossary.yaml): terms, their definitions and synonyms,
and the columns that carry them.

A column carries a term when the glossary names it, or when its SAP field code (through lineage:
a copy of BUKRS is still BUKRS) is among the term's `sap` codes that are register fields.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

GLOSSARY_PATH = Path(__file__).with_name("glossary.yaml")


class GlossaryError(ValueError):
    """The glossary file cannot be used; the message names the file, the term and the field."""


class Definition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Term(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    term: str = Field(min_length=1)
    en: str = Field(min_length=1)
    domain: str = Field(min_length=1)
    definition: Definition
    synonyms: list[str] = Field(default_factory=list)
    sap: list[str] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)  # schema.table.column

    @property
    def words(self) -> list[str]:
        """Everything the term is searched by: itself, its English, synonyms and SAP codes."""
        return [self.term, self.en, *self.synonyms, *self.sap]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    terms: list[Term] = Field(min_length=1)


def load_glossary(path: Path = GLOSSARY_PATH) -> list[Term]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise GlossaryError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    try:
        parsed = _File.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        if len(loc) >= 2 and loc[0] == "terms" and isinstance(loc[1], int) and isinstance(raw, dict):
            entry = raw["terms"][loc[1]]
            name = entry.get("term", f"#{loc[1] + 1}") if isinstance(entry, dict) else f"#{loc[1] + 1}"
            field = ".".join(str(p) for p in loc[2:]) or "(entry)"
            raise GlossaryError(f"{path}: term {name}: field '{field}': {first['msg']}") from None
        raise GlossaryError(f"{path}: {first['msg']} at {'.'.join(map(str, loc))}") from None
    seen: set[str] = set()
    for term in parsed.terms:
        if term.term in seen:
            raise GlossaryError(f"{path}: term {term.term}: listed twice")
        seen.add(term.term)
    return parsed.terms
