"""Offline text analysis of residents' answers: clean-up, sentiment, themes, key phrases, redaction.

Runs once per answer when it arrives, so a digest is an aggregation, not a re-analysis. Only the
parts of TextBlob that ship their data inside the package are used: no NLTK corpora, no network.
"""

from insights.analysis import Analyser, Analysis, analyse
from insights.redact import redact
from insights.sentiment import AsksFor, Tone
from insights.themes import (
    CatalogueError,
    Theme,
    ThemeCatalogue,
    load_catalogue,
    parse_catalogue,
    shipped_catalogue,
)

__all__ = [
    "Analyser",
    "Analysis",
    "AsksFor",
    "CatalogueError",
    "Theme",
    "ThemeCatalogue",
    "Tone",
    "analyse",
    "load_catalogue",
    "parse_catalogue",
    "redact",
    "shipped_catalogue",
]
