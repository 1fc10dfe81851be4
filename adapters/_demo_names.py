"""Names, places and currencies the demo draws its customers from: mostly German-speaking,
with the neighbours a German mid-sized company sells to."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    currency: str
    per_euro: float
    weight: int
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    cities: tuple[str, ...]


_GERMAN_FIRST = (
    "Anna", "Lena", "Julia", "Sophie", "Katharina", "Laura", "Sabine", "Claudia", "Petra",
    "Monika", "Lukas", "Jonas", "Felix", "Maximilian", "Thomas", "Michael", "Andreas",
    "Stefan", "Jürgen", "Klaus", "Uwe", "Tobias", "Matthias", "Jörg",
)  # fmt: skip
_GERMAN_LAST = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
    "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann",
    "Lange", "Werner", "Krause", "Lehmann", "Köhler", "Weiß",
)  # fmt: skip

COUNTRIES = (
    Country(
        "DE", "EUR", 1.0, 50, _GERMAN_FIRST, _GERMAN_LAST,
        ("Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf",
         "Leipzig", "Dortmund", "Essen", "Bremen", "Dresden", "Hannover", "Nürnberg",
         "Augsburg", "Freiburg im Breisgau", "Münster", "Kiel", "Rostock", "Regensburg"),
    ),
    Country(
        "AT", "EUR", 1.0, 9, _GERMAN_FIRST,
        (*_GERMAN_LAST[:12], "Gruber", "Huber", "Pichler", "Moser"),
        ("Wien", "Graz", "Linz", "Salzburg", "Innsbruck", "Klagenfurt"),
    ),
    Country(
        "CH", "CHF", 0.94, 7, _GERMAN_FIRST,
        ("Meier", "Keller", "Brunner", "Baumann", "Frei", "Gerber"),
        ("Zürich", "Basel", "Bern", "Luzern", "St. Gallen", "Winterthur"),
    ),
    Country(
        "NL", "EUR", 1.0, 6, ("Sanne", "Daan", "Femke", "Sem", "Lotte", "Bram"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser"),
        ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Den Haag", "Groningen"),
    ),
    Country(
        "FR", "EUR", 1.0, 7, ("Camille", "Léa", "Manon", "Hugo", "Louis", "Étienne"),
        ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard"),
        ("Paris", "Lyon", "Strasbourg", "Lille", "Bordeaux", "Toulouse"),
    ),
    Country(
        "IT", "EUR", 1.0, 5, ("Giulia", "Chiara", "Francesca", "Luca", "Marco", "Alessandro"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano"),
        ("Milano", "Bologna", "Torino", "Verona", "Bolzano", "Firenze"),
    ),
    Country(
        "ES", "EUR", 1.0, 4, ("Lucía", "Carmen", "Pablo", "Javier", "Marta", "Álvaro"),
        ("García", "Fernández", "López", "Martínez", "Sánchez", "Pérez"),
        ("Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Zaragoza"),
    ),
    Country(
        "PL", "PLN", 4.3, 5, ("Zofia", "Agnieszka", "Katarzyna", "Piotr", "Tomasz", "Łukasz"),
        ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski"),
        ("Warszawa", "Kraków", "Wrocław", "Poznań", "Gdańsk", "Łódź"),
    ),
    Country(
        "CZ", "CZK", 25.0, 3, ("Tereza", "Eliška", "Jan", "Jakub", "Petr", "Lucie"),
        ("Novák", "Svoboda", "Novotný", "Dvořák", "Černý", "Procházka"),
        ("Praha", "Brno", "Ostrava", "Plzeň", "Liberec"),
    ),
    Country(
        "DK", "DKK", 7.46, 2, ("Freja", "Ida", "Mads", "Søren", "Mette", "Rasmus"),
        ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Sørensen"),
        ("København", "Aarhus", "Odense", "Aalborg"),
    ),
    Country(
        "SE", "SEK", 11.2, 2, ("Elsa", "Maja", "Erik", "Lars", "Ingrid", "Oskar"),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson"),
        ("Stockholm", "Göteborg", "Malmö", "Uppsala"),
    ),
)  # fmt: skip

MAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "firma.example")

_ASCII = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ø": "oe", "æ": "ae", "å": "aa", "ł": "l"}
)


def mail_local_part(first: str, last: str) -> str:
    """`anna.mueller` from "Anna Müller": German transliteration, accents dropped."""
    text = f"{first}.{last}".lower().translate(_ASCII).replace(" ", "")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(
        char for char in decomposed if char.isascii() and (char.isalnum() or char == ".")
    )
