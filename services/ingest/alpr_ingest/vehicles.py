"""Vehicle attributes as search criteria: one vocabulary for what every vendor sends.

Cameras name a vehicle's make, model, colour and body type each their own way (`GRY`, `grey`,
`Gray`, `silver-gray`; `SUVMPV`, `suv-crossover`, `SUV`; `TOYT`, `toyota`, `Toyota`). A read keeps
the vendor's words (`vehicle`) and stores the normalised ones beside them (`vehicle_make`,
`vehicle_model`, `vehicle_color`, `vehicle_type`), which is what a search compares: one
normalisation, used when a read is stored and when a search names an attribute.

Colours and body types are closed vocabularies (a search for a colour outside it is refused with
the list); a vendor word that says too little (`car`, `Passenger Vehicle`, Dahua's `Motor`) is
left out rather than guessed. Makes and models are open, with the usual abbreviations folded
(NCIC VMA codes, `chevy`, `vw`). These describe the vehicle, never a person (344.4(a)1).
"""

from __future__ import annotations

import re
from typing import Any

COLORS = (
    "white", "black", "grey", "silver", "red", "blue", "green", "yellow", "orange", "brown",
    "beige", "gold", "purple", "pink",
)  # fmt: skip
BODY_TYPES = (
    "sedan", "hatchback", "coupe", "convertible", "wagon", "suv", "pickup", "van", "minivan",
    "truck", "bus", "motorcycle",
)  # fmt: skip

_COLOR_WORDS = {
    **{c: c for c in COLORS},
    "gray": "grey", "gry": "grey", "gy": "grey", "dgr": "grey", "lgr": "grey", "darkgray": "grey",
    "darkgrey": "grey", "lightgray": "grey", "lightgrey": "grey", "charcoal": "grey",
    "graphite": "grey",
    "wht": "white", "wh": "white", "wt": "white", "whi": "white", "cream": "white", "crm": "white",
    "blk": "black", "bk": "black", "bla": "black",
    "sil": "silver", "slv": "silver", "sl": "silver",
    "rd": "red", "maroon": "red", "mar": "red", "burgundy": "red", "brg": "red",
    "blu": "blue", "bl": "blue", "dbl": "blue", "lbl": "blue", "navy": "blue", "cyan": "blue",
    "teal": "blue", "tea": "blue", "turquoise": "blue", "trq": "blue", "darkblue": "blue",
    "lightblue": "blue",
    "grn": "green", "gn": "green", "dgn": "green", "lgn": "green",
    "yel": "yellow", "yw": "yellow",
    "ong": "orange", "org": "orange",
    "bro": "brown", "brn": "brown", "br": "brown", "bronze": "brown", "brz": "brown",
    "copper": "brown", "cpr": "brown",
    "tan": "beige", "bge": "beige", "bei": "beige",
    "gld": "gold", "golden": "gold",
    "ple": "purple", "pur": "purple", "violet": "purple", "mauve": "purple", "mve": "purple",
    "pnk": "pink",
}  # fmt: skip
# A compound names its main colour first as often as last ("silver-gray", "dark blue"): the
# first word that is a colour wins, so "silver-gray" is silver and "dark blue" is blue.

_TYPE_WORDS = {
    **{t: t for t in BODY_TYPES},
    "saloon": "sedan", "salooncar": "sedan", "sedan-standard": "sedan", "sedan-compact": "sedan",
    "sedan-sports": "sedan", "sedan-wagon": "wagon",
    "estate": "wagon", "stationwagon": "wagon", "hatch": "hatchback",
    "suvmpv": "suv", "suv-standard": "suv", "suv-crossover": "suv", "crossover": "suv",
    "jeep": "suv", "mpv": "minivan", "van-mini": "minivan", "mini-van": "minivan",
    "van-full": "van", "microbus": "van", "minibus": "van",
    "pickuptruck": "pickup", "pickup-standard": "pickup", "pickup-truck": "pickup",
    "pick-up": "pickup",
    "bigtruck": "truck", "largetruck": "truck", "tractor-trailer": "truck", "lorry": "truck",
    "semi": "truck", "heavytruck": "truck", "lighttruck": "truck", "trailer": "truck",
    "largebus": "bus", "coach": "bus",
    "motorbike": "motorcycle", "motorcycle-standard": "motorcycle",
    "scooter": "motorcycle", "moped": "motorcycle",
}  # fmt: skip

_MAKE_WORDS = {
    "acur": "acura", "alfa": "alfa-romeo", "alfaromeo": "alfa-romeo", "audi": "audi",
    "bmw": "bmw", "buic": "buick", "cadi": "cadillac", "chev": "chevrolet", "chevy": "chevrolet",
    "chry": "chrysler", "dodg": "dodge", "fiat": "fiat", "ford": "ford", "frei": "freightliner",
    "gmc": "gmc", "hond": "honda", "hyun": "hyundai", "infi": "infiniti", "isuz": "isuzu",
    "jagu": "jaguar", "jeep": "jeep", "kia": "kia", "land": "land-rover",
    "landrover": "land-rover", "lexs": "lexus", "linc": "lincoln", "mazd": "mazda",
    "merz": "mercedes-benz", "mercedes": "mercedes-benz", "mercedesbenz": "mercedes-benz",
    "benz": "mercedes-benz", "merc": "mercury", "mini": "mini", "mits": "mitsubishi",
    "niss": "nissan", "olds": "oldsmobile", "plym": "plymouth", "pont": "pontiac",
    "pors": "porsche", "ram": "ram", "satu": "saturn", "scio": "scion",
    "suba": "subaru", "suzi": "suzuki", "tesl": "tesla", "toyt": "toyota", "toyo": "toyota",
    "volk": "volkswagen", "vw": "volkswagen", "volv": "volvo",
}  # fmt: skip
_SEPARATORS = re.compile(r"[\s_/.]+")
_WORD = re.compile(r"[a-z]+")


def _clean(value: str) -> str:
    return _SEPARATORS.sub("-", value.strip().lower()).strip("-")


def color(value: str | None) -> str | None:
    """The vocabulary's colour for a vendor's word (`GRY`, `Gray`, `silver-gray`), or None."""
    if not value:
        return None
    text = value.strip().lower()
    whole = _COLOR_WORDS.get(re.sub(r"[^a-z]", "", text))
    if whole is not None:
        return whole
    for word in _WORD.findall(text):
        found = _COLOR_WORDS.get(word)
        if found is not None:
            return found
    return None


def body_type(value: str | None) -> str | None:
    """The vocabulary's body type for a vendor's word (`SUVMPV`, `Pickup Truck`), or None."""
    if not value:
        return None
    text = _clean(value)
    for key in (text, text.replace("-", "")):
        if key in _TYPE_WORDS:
            return _TYPE_WORDS[key]
    head = text.split("-", 1)[0]
    return _TYPE_WORDS.get(head)


def make(value: str | None) -> str | None:
    """A make in one spelling: lower case, words joined by `-`, common abbreviations expanded."""
    if not value:
        return None
    text = _clean(value)
    if not text:
        return None
    return _MAKE_WORDS.get(text.replace("-", ""), text)[:64]


def model(value: str | None) -> str | None:
    """A model in one spelling: lower case, words joined by `-` (`Model 3`, `model_3`)."""
    if not value:
        return None
    text = _clean(value)
    return text[:64] or None


def columns(vehicle: dict[str, Any] | None) -> dict[str, str | None]:
    """The normalised attribute columns of a read, from the vendor's `vehicle` values."""
    if not vehicle:
        return {"vehicle_make": None, "vehicle_model": None, "vehicle_color": None,
                "vehicle_type": None}  # fmt: skip
    return {
        "vehicle_make": make(vehicle.get("make")),
        "vehicle_model": model(vehicle.get("model")),
        "vehicle_color": color(vehicle.get("color")),
        "vehicle_type": body_type(vehicle.get("type")),
    }
