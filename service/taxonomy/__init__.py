"""The catalogue of signal categories, organised by the phenomena of the prevention plans.

A deployment ships its own file or uses `default_taxonomy.json`; `load_taxonomy` validates it once at
start-up and the resulting `Taxonomy` is immutable.
"""

from .loader import load_taxonomy, parse_taxonomy
from .model import CHANNELS, LANGUAGES, PHENOMENA, Category, Taxonomy, TaxonomyError

__all__ = [
    "CHANNELS",
    "LANGUAGES",
    "PHENOMENA",
    "Category",
    "Taxonomy",
    "TaxonomyError",
    "load_taxonomy",
    "parse_taxonomy",
]
