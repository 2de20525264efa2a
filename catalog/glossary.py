"""The business glossary (业务术语表, catalog/glossary.yaml): terms, their definitions and synonyms,
and the columns that carry them.

A column carries a term when the glossary names it, or when its SAP field code (through lineage:
a copy of BUKRS is still BUKRS) is among the term's `sap` codes that are register fields.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog.yaml_lines import YamlSyntaxError, read_yaml

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
        raw, lines = read_yaml(path)
    except YamlSyntaxError as exc:
        raise GlossaryError(str(exc)) from None
    try:
        parsed = _File.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        where = lines.where(path, loc)
        if len(loc) >= 2 and loc[0] == "terms" and isinstance(loc[1], int) and isinstance(raw, dict):
            entry = raw["terms"][loc[1]]
            name = entry.get("term", f"#{loc[1] + 1}") if isinstance(entry, dict) else f"#{loc[1] + 1}"
            field = ".".join(str(p) for p in loc[2:]) or "(entry)"
            raise GlossaryError(f"{where}: term {name}: field '{field}': {first['msg']}") from None
        raise GlossaryError(f"{where}: {first['msg']} at {'.'.join(map(str, loc))}") from None
    seen: set[str] = set()
    for i, term in enumerate(parsed.terms):
        if term.term in seen:
            raise GlossaryError(f"{lines.where(path, ('terms', i, 'term'))}: term {term.term}: listed twice")
        seen.add(term.term)
    return parsed.terms
