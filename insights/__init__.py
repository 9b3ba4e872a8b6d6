"""Offline text analysis of residents' answers: clean-up, sentiment, themes, key phrases, redaction,
safeguarding signals.

Runs once per answer when it arrives, so a digest is an aggregation, not a re-analysis. Only the
parts of TextBlob that ship their data inside the package are used: no NLTK corpora, no network.
"""

from insights.analysis import Analyser, Analysis, analyse
from insights.redact import redact
from insights.safeguarding import (
    SafeguardingError,
    SafeguardingList,
    Signal,
    load_safeguarding,
    parse_safeguarding,
    shipped_safeguarding,
)
from insights.sentiment import AsksFor, Tone
from insights.themes import (
    CatalogueError,
    Theme,
    ThemeCatalogue,
    catalogue_for,
    load_catalogue,
    parse_catalogue,
    shipped_catalogue,
)

__all__ = [
    "Analyser",
    "Analysis",
    "AsksFor",
    "CatalogueError",
    "SafeguardingError",
    "SafeguardingList",
    "Signal",
    "Theme",
    "ThemeCatalogue",
    "Tone",
    "analyse",
    "catalogue_for",
    "load_catalogue",
    "load_safeguarding",
    "parse_catalogue",
    "parse_safeguarding",
    "redact",
    "shipped_catalogue",
    "shipped_safeguarding",
]
