"""What General Order 344 lets onto a hot list, as pure functions.

344.2(c) defines the hot list: stolen vehicles and plates, BOLOs, Silver and Amber alerts, and
wanted persons with a Class A (misdemeanor) offense or greater warrant. 344.4(a)5 forbids using
ALPR for warrant round-ups, past-due fines, Class C misdemeanors or any other revenue purpose;
344.4(a)6 forbids immigration-status and reproductive-health investigations. 344.6(b)7 audits
manually entered plates by the reason that justified them, so a manual entry must carry one.

`check_entry` returns None when an entry may be activated, or a `Refusal` (a str naming the
clause) when it may not; the service refuses API writes with it and importers hold the row for a
hotlist manager's review.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum


class EntryType(StrEnum):
    """The categories of 344.2(c); nothing else is a hot-list entry."""

    STOLEN_VEHICLE = "stolen_vehicle"
    STOLEN_PLATE = "stolen_plate"
    BOLO = "bolo"
    AMBER_ALERT = "amber_alert"
    SILVER_ALERT = "silver_alert"
    WARRANT = "warrant"


# Amber and Silver alerts are missing/endangered-person alerts by definition: 344.4(f) retention
# and 344.5(b) sharing treat them as such.
MISSING_ENDANGERED_TYPES = frozenset({EntryType.AMBER_ALERT, EntryType.SILVER_ALERT})


class OffenseClass(StrEnum):
    """Texas Penal Code offense classes, declared most serious first."""

    CAPITAL_FELONY = "capital_felony"
    FIRST_DEGREE_FELONY = "first_degree_felony"
    SECOND_DEGREE_FELONY = "second_degree_felony"
    THIRD_DEGREE_FELONY = "third_degree_felony"
    STATE_JAIL_FELONY = "state_jail_felony"
    CLASS_A_MISDEMEANOR = "class_a_misdemeanor"
    CLASS_B_MISDEMEANOR = "class_b_misdemeanor"
    CLASS_C_MISDEMEANOR = "class_c_misdemeanor"

    @property
    def rank(self) -> int:
        """1 for a capital felony up to 8 for a Class C misdemeanor."""
        return _RANK[self]

    @property
    def is_class_a_or_greater(self) -> bool:
        # 344.2(c): "a Class A offense or greater warrant"; every felony outranks Class A.
        return self.rank <= _RANK[OffenseClass.CLASS_A_MISDEMEANOR]

    @classmethod
    def parse(cls, text: str) -> OffenseClass:
        """Read an offense class from a file field: `class_a_misdemeanor`, `Class A`, `MA`, `F2`,
        `2nd degree felony`, `state jail felony`, `capital`... Raises ValueError otherwise."""
        try:
            return _OFFENSE_ALIASES[_squash(text)]
        except KeyError:
            raise ValueError(
                f"{text!r} is not an offense class; use one of "
                + ", ".join(c.value for c in cls)
                + " (or the Texas codes FC, F1, F2, F3, FS, MA, MB, MC)"
            ) from None

    @classmethod
    def find_in(cls, text: str) -> OffenseClass | None:
        """The offense class a free-text description states explicitly, if it states one."""
        found = {_OFFENSE_ALIASES[_squash(m.group(0))] for m in _OFFENSE_IN_TEXT.finditer(text)}
        return found.pop() if len(found) == 1 else None


_RANK = {c: i for i, c in enumerate(OffenseClass, start=1)}


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _offense_aliases() -> dict[str, OffenseClass]:
    aliases = {_squash(c.value): c for c in OffenseClass}
    for c, words in (
        (OffenseClass.FIRST_DEGREE_FELONY, ("first", "1st", "1")),
        (OffenseClass.SECOND_DEGREE_FELONY, ("second", "2nd", "2")),
        (OffenseClass.THIRD_DEGREE_FELONY, ("third", "3rd", "3")),
    ):
        for w in words:
            for form in (f"{w}degreefelony", f"felony{w}degree", f"felonyofthe{w}degree"):
                aliases[form] = c
        aliases[f"f{words[2]}"] = c
    for letter, c in (
        ("a", OffenseClass.CLASS_A_MISDEMEANOR),
        ("b", OffenseClass.CLASS_B_MISDEMEANOR),
        ("c", OffenseClass.CLASS_C_MISDEMEANOR),
    ):
        for form in (letter, f"class{letter}", f"class{letter}misd", f"m{letter}"):
            aliases[form] = c
        aliases[f"misdemeanorclass{letter}"] = c
    aliases.update(
        {
            "capital": OffenseClass.CAPITAL_FELONY,
            "fc": OffenseClass.CAPITAL_FELONY,
            "statejail": OffenseClass.STATE_JAIL_FELONY,
            "sjf": OffenseClass.STATE_JAIL_FELONY,
            "fs": OffenseClass.STATE_JAIL_FELONY,
        }
    )
    return aliases


_OFFENSE_ALIASES = _offense_aliases()

# Only explicit statements count in free text: "felony warrant" alone names no class, and
# guessing one would let a warrant onto the list that 344.2(c) may exclude.
_OFFENSE_IN_TEXT = re.compile(
    r"\bclass\s*[abc]\s*(?:misdemeanor|misd\.?)?(?![a-z])"
    r"|\b(?:first|second|third|1st|2nd|3rd)[\s-]*degree[\s-]*felony\b"
    r"|\bfelony\s+of\s+the\s+(?:first|second|third)\s+degree\b"
    r"|\bstate[\s-]*jail[\s-]*felony\b|\bcapital\s+felony\b",
    re.IGNORECASE,
)


class ManualEntryReason(StrEnum):
    """Why a person typed a plate in (344.6(b)7 counts manual entries by this reason)."""

    # A stolen report has been taken but the NCIC/TCIC entry is not on the extract yet.
    STOLEN_VEHICLE_PENDING_NCIC = "stolen_vehicle_pending_ncic"
    STOLEN_PLATE_PENDING_NCIC = "stolen_plate_pending_ncic"
    AMBER_ALERT = "amber_alert"
    SILVER_ALERT = "silver_alert"
    # A BOLO tied to a documented criminal investigation (the case number goes with the entry).
    BOLO_CRIMINAL_INVESTIGATION = "bolo_criminal_investigation"
    # A confirmed Class A-or-greater warrant not (yet) on the NCIC/TCIC extract.
    WARRANT_CLASS_A_OR_GREATER = "warrant_class_a_or_greater"
    # Another law-enforcement agency's request relayed by teletype, phone or e-mail.
    OTHER_AGENCY_REQUEST = "other_agency_request"


# Which entry types each manual reason can justify; an Amber alert reason cannot carry a warrant.
MANUAL_REASON_ENTRY_TYPES: dict[ManualEntryReason, frozenset[EntryType]] = {
    ManualEntryReason.STOLEN_VEHICLE_PENDING_NCIC: frozenset({EntryType.STOLEN_VEHICLE}),
    ManualEntryReason.STOLEN_PLATE_PENDING_NCIC: frozenset({EntryType.STOLEN_PLATE}),
    ManualEntryReason.AMBER_ALERT: frozenset({EntryType.AMBER_ALERT}),
    ManualEntryReason.SILVER_ALERT: frozenset({EntryType.SILVER_ALERT}),
    ManualEntryReason.BOLO_CRIMINAL_INVESTIGATION: frozenset({EntryType.BOLO}),
    ManualEntryReason.WARRANT_CLASS_A_OR_GREATER: frozenset({EntryType.WARRANT}),
    ManualEntryReason.OTHER_AGENCY_REQUEST: frozenset(EntryType),
}

# The policy sets no lifetime for any entry; these are the project's limits, and the reason is
# the same for both: NCIC/TCIC records leave the daily extract when the vehicle is recovered or the
# warrant served, but nothing clears a BOLO or a typed-in plate. A stale entry keeps alerting on a
# vehicle nobody wants any more, which is how the wrong-vehicle stops of 344.4(g) happen.
#
# A BOLO is a broadcast about a current incident: after two weeks it must be renewed with a fresh
# justification (the canonical example's agency BOLO runs exactly 14 days).
BOLO_MAX_LIFETIME = timedelta(days=14)
# A manual entry lives at most 30 days, the 344.4(d) retention horizon: it is re-entered with a
# fresh reason code at least monthly, so the quarterly 344.6(b)7 count by reason rests on
# justifications no older than a month.
MANUAL_ENTRY_MAX_LIFETIME = timedelta(days=30)

MANUAL_SOURCE = "manual"


def max_lifetime(entry_type: EntryType | None, *, manual: bool) -> timedelta | None:
    """The longest an entry of this kind may stay active, or None when the source clears it."""
    limits = []
    if entry_type is EntryType.BOLO:
        limits.append(BOLO_MAX_LIFETIME)
    if manual:
        limits.append(MANUAL_ENTRY_MAX_LIFETIME)
    return min(limits) if limits else None


def cap_expiry(
    entry_type: EntryType | None,
    *,
    manual: bool,
    entered_at: datetime | None,
    expires_at: datetime | None,
) -> datetime | None:
    """`expires_at` shortened to the lifetime limit counted from `entered_at` (when known)."""
    limit = max_lifetime(entry_type, manual=manual)
    if limit is None or entered_at is None:
        return expires_at
    latest = entered_at + limit
    return latest if expires_at is None or expires_at > latest else expires_at


class Refusal(str):
    """A human-readable refusal that starts with, and carries, the clause it applies."""

    clause: str

    def __new__(cls, clause: str, message: str) -> Refusal:
        self = super().__new__(cls, f"{clause}: {message}")
        self.clause = clause
        return self

    def __reduce__(self) -> tuple[object, ...]:
        return (Refusal, (self.clause, self[len(self.clause) + 2 :]))


# Categories that state and national files carry but 344.2(c) does not list. They are named so
# the refusal can say what the record is; anything unlisted gets the generic 344.2(c) refusal.
_IMMIGRATION_CATEGORIES = frozenset({"deported_felon", "immigration_violator"})

_RECLASSIFY_HINTS = {
    "missing_person": "a missing person is on the list only under an issued Amber or Silver "
    "alert, which a hotlist manager can record",
    "felony_vehicle": "a hotlist manager may enter it as a BOLO tied to the felony's case",
    "stolen_boat": "a boat's trailer plate may be entered as a stolen vehicle if it was taken",
}

# 344.4(a)5: revenue purposes. Phrases, not single words: "fine" or "toll road" alone are
# ordinary words in a theft report.
_REVENUE = re.compile(
    r"\b(?:unpaid|outstanding|past[\s-]*due|overdue|delinquent)\b[^.;]{0,40}?"
    r"\b(?:fines?|fees?|tolls?|tickets?|citations?|taxes|balances?|debts?|payments?|costs)\b"
    r"|\b(?:fines?|fees?|tolls?|tickets?|citations?)\b[^.;]{0,20}?"
    r"\b(?:unpaid|outstanding|past[\s-]*due|owed|delinquent)\b"
    r"|\btoll[\s-]*(?:violations?|violators?|evasion|invoices?)\b"
    r"|\bparking\s+(?:tickets?|violations?|citations?)\b"
    r"|\b(?:traffic|court)\s+(?:fines?|fees?)\b"
    r"|\bfailure\s+to\s+pay\b|\bscofflaws?\b|\bdebt\s+collection\b"
    r"|\bcollect(?:ing|ion\s+of)?\s+(?:money|fines|fees|debts?)\b"
    r"|\bwarrants?\s*(?:round[\s-]*ups?|sweeps?)\b|\bround[\s-]*up\s+operations?\b",
    re.IGNORECASE,
)
_CLASS_C = re.compile(r"\bclass\s*c\b", re.IGNORECASE)
# 344.4(a)6: immigration status and reproductive health.
_IMMIGRATION = re.compile(
    r"\bimmigra\w*|\bdeport\w*|\bundocumented\b|\billegal\s+(?:aliens?|immigrants?)\b"
    r"|\bvisa\s+overstay\w*|\bremoval\s+orders?\b|\bI-?247\w?\b"
    r"|\bICE\s+(?:detainers?|holds?|warrants?|requests?)\b",
    re.IGNORECASE,
)
_REPRODUCTIVE = re.compile(
    r"\babortions?\b|\breproductive\s+(?:health|care|services?)\b", re.IGNORECASE
)


_ENTRY_TYPE_VALUES = frozenset(t.value for t in EntryType)


def entry_type_of(value: EntryType | str | None) -> EntryType | None:
    if value is None or isinstance(value, EntryType):
        return value
    name = value.strip().lower()
    return EntryType(name) if name in _ENTRY_TYPE_VALUES else None


def check_entry(
    *,
    entry_type: EntryType | str | None,
    offense_class: OffenseClass | None = None,
    reason: str = "",
    notes: str = "",
    source: str | None = None,
    manual_reason: ManualEntryReason | None = None,
) -> Refusal | None:
    """None if General Order 344 allows the entry on a hot list, else why not.

    `entry_type` may be a category the policy does not know (a state file's "sex_offender"):
    it is refused by name. `reason` and `notes` are the entry's free text, checked for the
    prohibited purposes of 344.4(a)5-6 whatever the category says.
    """
    text = f"{reason}\n{notes}"
    # Prohibited purposes first: a "stolen vehicle" entered to collect tolls is still refused.
    if m := _IMMIGRATION.search(text):
        return Refusal(
            "344.4(a)6",
            f"the entry's reason mentions immigration ({m.group(0)!r}); ALPR is not used to "
            "investigate a person's immigration status",
        )
    if m := _REPRODUCTIVE.search(text):
        return Refusal(
            "344.4(a)6",
            f"the entry's reason mentions reproductive health ({m.group(0)!r}); ALPR is not "
            "used to investigate access to reproductive health services",
        )
    if m := _REVENUE.search(text):
        return Refusal(
            "344.4(a)5",
            f"the entry's reason points to a revenue purpose ({m.group(0)!r}); ALPR is not "
            "used for warrant round-ups, past-due fines, fees or tolls, or collecting money owed",
        )
    if offense_class is OffenseClass.CLASS_C_MISDEMEANOR or _CLASS_C.search(text):
        return Refusal("344.4(a)5", "Class C misdemeanors are never a reason for a hot-list entry")

    known = entry_type_of(entry_type)
    if known is None:
        name = str(entry_type or "").strip().lower() or "unclassified"
        if name in _IMMIGRATION_CATEGORIES:
            return Refusal(
                "344.4(a)6",
                f"a {name!r} record concerns immigration status; it cannot be a hot-list entry",
            )
        return Refusal(
            "344.2(c)",
            f"{name!r} is not a hot-list category; the list holds only "
            + ", ".join(t.value for t in EntryType)
            + "; "
            + _RECLASSIFY_HINTS.get(
                name, "a hotlist manager may re-classify it only if it truly is one of those"
            ),
        )

    if known is EntryType.WARRANT:
        if offense_class is None:
            return Refusal(
                "344.2(c)",
                "a warrant entry needs the offense class of the warrant (Class A misdemeanor or "
                "greater); none was given, and 344.4(a)5 rules out lower classes",
            )
        if not offense_class.is_class_a_or_greater:
            return Refusal(
                "344.2(c)",
                f"a {offense_class.value} warrant is below Class A; only Class A misdemeanor or "
                "greater warrants go on the hot list",
            )

    if source is not None and source.strip().lower() == MANUAL_SOURCE:
        if manual_reason is None:
            return Refusal(
                "344.6(b)7",
                "a manually entered plate needs a reason code ("
                + ", ".join(r.value for r in ManualEntryReason)
                + "); the quarterly audit counts manual entries by reason",
            )
        if known not in MANUAL_REASON_ENTRY_TYPES[manual_reason]:
            return Refusal(
                "344.6(b)7",
                f"the manual reason {manual_reason.value!r} does not justify a "
                f"{known.value!r} entry",
            )
    return None
