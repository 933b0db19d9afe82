"""The worlds of the domain family (`domain_family.py`): what each invented domain is about.

A world is a kind of entity, how its names look, and its relations: the values each may take, how
a corpus states it in each style, how an LLM-written KIT pair words it, and how an exam asks it.
Four worlds, written before any default was tuned on the family: `drugs` and `penal` to tune on,
`ships` and `plants` set aside (their shapes are only ever run with the defaults, to report).

Names differ on purpose: invented one-word names (drugs), numbered articles ("Article 214",
penal), two capitalized words (ships), and Latin binomials whose genus several species share and
whose epithet is lower case ("Veronia salsa", plants).

Real corpora write names as the four capitalized worlds never do, so four more worlds write them
so, added after the defaults of issue 28 were chosen: generic drug names in lower case
("velantide", capitalized only as a sentence's first word) and compound codes ("RX-7731") to tune
the name finder on; package identifiers in lower case with hyphens and digits, kept lower case
even opening a sentence ("qor-sync-3"), with maintainers named with initials, and scholars named
with initials ("Anna K. Berg"), set aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Relation:
    """One kind of fact. Templates take {e} (the entity), {v} (the value, or values joined) and,
    in pronoun and narrative templates, {it}/{its}/{the} (the world's pronoun and kind phrase)."""

    name: str
    label: str
    """Field name and table column ("Indication")."""
    values: tuple[str, ...]
    named: tuple[str, ...]
    """Sentences that name the entity; the first is the canonical one (gold knowledge)."""
    pronoun: tuple[str, ...]
    """Sentences that refer to the entity as {it}/{its}/{the}."""
    narrative: tuple[str, ...]
    """Clauses for running prose, referring to the entity as {the}."""
    kit_answer: tuple[str, ...]
    """An LLM's own wording of the fact, naming the entity."""
    kit_question: str
    paraphrase: tuple[str, ...]
    vignette: tuple[str, ...]
    reverse: str | None = None
    several: bool = False
    numeric: bool = False


@dataclass(frozen=True)
class World:
    name: str
    kind: str
    names: str
    """"syllables", "numbered", "two_words", "binomial", "lowercase", "codes", "identifiers" or "initials"."""
    it: str
    its: str
    the: str
    relations: tuple[Relation, ...]
    fillers: tuple[str, ...]
    """Sentences about an entity that state no fact ({e} or {the})."""
    name_parts: tuple[tuple[str, ...], tuple[str, ...]] = field(default=((), ()))
    held_out: bool = False
    keep_case: bool = False
    """Names keep their case as a sentence's first word, as identifiers do ("xyz-tools is ...")."""
    key_label: str = "Name"
    """The label of a record's key field, in the `record` style ("Package: xyz-tools")."""


DRUGS = World(
    "drugs", "drug", "syllables", it="it", its="its", the="the drug",
    fillers=("{e} is stored in a cool, dry cupboard.", "Pharmacists keep {the} behind the counter.",
             "{e} comes as small white tablets.", "The leaflet for {the} is printed in two languages."),
    relations=(
        Relation("indication", "Indication",
                 ("marsh fever", "copper lung", "winter ague", "river flux", "lantern blindness", "miller's cough",
                  "ash rash", "salt palsy", "bog chill", "tallow gout", "quarry wheeze", "frost tremor"),
                 named=("{e} is indicated for {v}.", "{e} treats {v}.", "Physicians give {e} for {v}."),
                 pronoun=("{It} is indicated for {v}.", "Doctors prescribe {it} for {v}."),
                 narrative=("{the} was first compounded against {v}", "{the} is still the usual remedy for {v}"),
                 kit_answer=("{e} is used to treat {v}.", "Patients with {v} are given {e}."),
                 kit_question="What is {e} used to treat?",
                 paraphrase=("Which illness is {e} prescribed against?", "For which condition is {e} given?"),
                 vignette=("A physician who prescribes {e} is treating which illness?",
                           "A patient leaves the clinic with a box of {e}. What is she most likely ill with?"),
                 reverse="Which drug is used to treat {v}?"),
        Relation("drug_class", "Class",
                 ("vessel binder", "spleen tonic", "marrow steadier", "bile thinner", "lung opener", "nerve damper",
                  "humour balancer", "pulse quickener", "gut settler", "skin sealant"),
                 named=("{e} is classed as a {v}.", "{e} belongs to the {v} class."),
                 pronoun=("{It} is classed as a {v}.", "{It} belongs to the {v} class."),
                 narrative=("{the} is counted among the {v}s", "pharmacists shelve {the} with the {v}s"),
                 kit_answer=("{e} is a {v}.", "{e} falls in the group of {v} medicines."),
                 kit_question="What kind of drug is {e}?",
                 paraphrase=("To which class of medicines does {e} belong?",),
                 vignette=("A pharmacist shelving {e} puts it with which class of drugs?",),
                 reverse="Which drug is a {v}?"),
        Relation("max_dose", "Maximum daily dose",
                 ("30 milligrams", "75 milligrams", "120 milligrams", "200 milligrams", "360 milligrams",
                  "480 milligrams", "650 milligrams", "900 milligrams"),
                 named=("The maximum daily dose of {e} is {v}.", "No patient should take more than {v} of {e} a day."),
                 pronoun=("{Its} maximum daily dose is {v}.", "No patient should take more than {v} of {it} a day."),
                 narrative=("no patient may take more than {v} of {the} a day",),
                 kit_answer=("{e} should not be taken above {v} a day.", "The daily limit for {e} is {v}."),
                 kit_question="What is the maximum daily dose of {e}?",
                 paraphrase=("How much {e} may a patient take in one day at most?",),
                 vignette=("A nurse checks a chart for {e}. What is the most the patient may take per day?",),
                 numeric=True),
        Relation("side_effects", "Side effects",
                 ("dry mouth", "blurred sight", "night sweats", "ringing ears", "cold hands", "loose teeth",
                  "itching scalp", "slow pulse"),
                 named=("{e} can cause {v}.", "Side effects of {e} are {v}."),
                 pronoun=("{It} can cause {v}.", "{Its} side effects are {v}."),
                 narrative=("some who take {the} report {v}",),
                 kit_answer=("{e} may give patients {v}.",),
                 kit_question="Which side effects can {e} cause?",
                 paraphrase=("What unwanted effects does {e} have?",),
                 vignette=("A man started on {e} last week. Which complaints may he bring back?",),
                 several=True),
        Relation("maker", "Manufacturer",
                 ("Harrow and Venn", "Blackmoor Works", "Saltgate Apothecary", "Orrin Brothers",
                  "Greywater Dispensary", "Lindqvist House", "Thornbury Laboratories", "Calloway Guild"),
                 named=("{e} is made by {v}.", "{e} is manufactured by {v}."),
                 pronoun=("{It} is made by {v}.", "{v} manufactures {it}."),
                 narrative=("{v} makes {the} at its northern works",),
                 kit_answer=("{v} produces {e}.", "{e} comes from the works of {v}."),
                 kit_question="Who makes {e}?",
                 paraphrase=("Which firm manufactures {e}?",),
                 vignette=("A hospital wants to order {e} directly from the maker. Whom should it call?",),
                 reverse="Which drug is made by {v}?"),
    ),
)

PENAL = World(
    "penal", "article", "numbered", it="it", its="its", the="the article",
    fillers=("{e} was last amended by the Assembly.", "Commentators often cite {the} in lectures.",
             "{e} sits in the second book of the Penal Code.", "The wording of {the} is short."),
    relations=(
        Relation("offence", "Offence",
                 ("poaching deer", "moving boundary stones", "selling spoiled ale", "forging seals",
                  "hoarding grain", "night fishing", "cutting oaks", "false weights", "blocking towpaths",
                  "smuggling tallow", "ringing bells at night", "unlicensed ferrying"),
                 named=("{e} punishes {v}.", "Under {e}, {v} is an offence."),
                 pronoun=("{It} punishes {v}.", "Under {it}, {v} is an offence."),
                 narrative=("{the} was written to stop {v}", "{the} is the law on {v}"),
                 kit_answer=("{e} is the article on {v}.", "{v} is dealt with in {e}."),
                 kit_question="Which offence does {e} punish?",
                 paraphrase=("What conduct is made a crime by {e}?",),
                 vignette=("A prosecutor charges a man under {e}. What did the man most likely do?",),
                 reverse="Which article punishes {v}?"),
        Relation("prison", "Maximum prison term",
                 ("two months", "six months", "one year", "three years", "five years", "eight years", "twelve years"),
                 named=("{e} allows a prison term of up to {v}.", "An offender under {e} may be jailed for {v}."),
                 pronoun=("{It} allows a prison term of up to {v}.", "An offender under {it} may be jailed for {v}."),
                 narrative=("a court may jail an offender under {the} for {v}",),
                 kit_answer=("The longest sentence under {e} is {v} in prison.",),
                 kit_question="What is the longest prison term under {e}?",
                 paraphrase=("For how long at most can a court jail someone under {e}?",),
                 vignette=("A judge gives the harshest sentence {e} permits. How long will the convict serve?",),
                 numeric=True),
        Relation("fine", "Maximum fine",
                 ("40 crowns", "90 crowns", "150 crowns", "240 crowns", "400 crowns", "650 crowns", "1,000 crowns",
                  "1,800 crowns"),
                 named=("The highest fine under {e} is {v}.", "A breach of {e} is fined at most {v}."),
                 pronoun=("The highest fine under {it} is {v}.", "A breach of {it} is fined at most {v}."),
                 narrative=("the fine under {the} may reach {v}",),
                 kit_answer=("{e} caps the fine at {v}.",),
                 kit_question="What is the highest fine under {e}?",
                 paraphrase=("Up to what amount can a court fine an offender under {e}?",),
                 vignette=("A magistrate fines a trader as heavily as {e} allows. How much does the trader pay?",),
                 numeric=True),
        Relation("court", "Court",
                 ("the Assize Court", "the Harbour Bench", "the Exchequer Court", "the Guildhall Bench",
                  "the Forest Court", "the Toll Commission", "the River Conservancy", "the Board of Wardens"),
                 named=("Cases under {e} are heard by {v}.", "{e} is enforced by {v}."),
                 pronoun=("Cases under {it} are heard by {v}.", "{It} is enforced by {v}."),
                 narrative=("cases under {the} go before {v}",),
                 kit_answer=("{v} hears cases brought under {e}.",),
                 kit_question="Which court hears cases under {e}?",
                 paraphrase=("Before which body are breaches of {e} tried?",),
                 vignette=("A clerk files a complaint under {e}. Where will the case be heard?",),
                 reverse="Cases under which article are heard by {v}?"),
        Relation("aggravating", "Aggravating circumstances",
                 ("at night", "with a weapon", "by a public officer", "in a temple", "against a child",
                  "for the second time", "in a band", "during a famine"),
                 named=("Under {e} the penalty rises when the act is done {v}.",),
                 pronoun=("The penalty under {it} rises when the act is done {v}.",),
                 narrative=("{the} punishes the act more harshly when it is done {v}",),
                 kit_answer=("{e} is harsher on offences committed {v}.",),
                 kit_question="When does {e} impose a higher penalty?",
                 paraphrase=("Which circumstances aggravate an offence under {e}?",),
                 vignette=("Two offenders broke {e}. Which circumstances would earn one a harsher penalty?",),
                 several=True),
    ),
)

SHIPS = World(
    "ships", "ship", "two_words", it="she", its="her", the="the ship", held_out=True,
    name_parts=(("Marigold", "Iron", "Silver", "Northern", "Grey", "Amber", "Restless", "Patient", "Lucky", "Crimson",
                 "Quiet", "Hollow"),
                ("Venture", "Heron", "Lantern", "Maiden", "Gull", "Anchor", "Promise", "Otter", "Comet", "Thistle",
                 "Pilgrim", "Fortune")),
    fillers=("{e} was repainted two winters ago.", "Sailors tell many stories about {the}.",
             "{e} flies a blue pennant.", "The figurehead of {the} is carved from oak."),
    relations=(
        Relation("home_port", "Home port",
                 ("Port Ellery", "Saltmarsh Quay", "Kestrel Harbour", "Dunmore Docks", "Wickham Pier",
                  "Gullhaven", "Tarrow Bay", "Fennick Roads"),
                 named=("{e} sails from {v}.", "The home port of {e} is {v}."),
                 pronoun=("{It} sails from {v}.", "{Its} home port is {v}."),
                 narrative=("{the} returns every autumn to {v}",),
                 kit_answer=("{e} is based at {v}.",),
                 kit_question="What is the home port of {e}?",
                 paraphrase=("From which harbour does {e} usually sail?",),
                 vignette=("A merchant wants to board {e} at its home. Where must he go?",),
                 reverse="Which ship sails from {v}?"),
        Relation("builder", "Builder",
                 ("Hask and Sons", "Morrow Yard", "Penhallow Shipwrights", "the Tilbury Works", "Oakes Brothers",
                  "Carrick Yard", "Welland and Pike"),
                 named=("{e} was built by {v}.", "{v} built {e}."),
                 pronoun=("{It} was built by {v}.", "{v} built {it}."),
                 narrative=("{the} left the slipway of {v}",),
                 kit_answer=("{e} came out of the yard of {v}.",),
                 kit_question="Who built {e}?",
                 paraphrase=("Which shipyard constructed {e}?",),
                 vignette=("An owner needs the original plans of {e}. Which yard holds them?",)),
        Relation("launched", "Launched",
                 ("1788", "1802", "1815", "1827", "1834", "1846", "1851", "1863", "1879"),
                 named=("{e} was launched in {v}.", "{e} first took to the water in {v}."),
                 pronoun=("{It} was launched in {v}.", "{It} first took to the water in {v}."),
                 narrative=("{the} was launched in {v}",),
                 kit_answer=("{e} has been afloat since {v}.",),
                 kit_question="When was {e} launched?",
                 paraphrase=("In what year did {e} first go to sea?",),
                 vignette=("A museum marks the launch of {e} on a plaque. Which year does it show?",),
                 numeric=True),
        Relation("cargo", "Cargo",
                 ("salt", "timber", "wool", "coal", "tea", "slate", "grain", "copper ore"),
                 named=("{e} carries {v}.", "The holds of {e} are filled with {v}."),
                 pronoun=("{It} carries {v}.", "{Its} holds are filled with {v}."),
                 narrative=("{the} is loaded with {v} on most voyages",),
                 kit_answer=("{e} is a carrier of {v}.",),
                 kit_question="What does {e} carry?",
                 paraphrase=("Which goods travel in the holds of {e}?",),
                 vignette=("Dock workers are unloading {e}. What are they carrying ashore?",),
                 several=True),
        Relation("captain", "Master",
                 ("Orla Venn", "Tobias Grell", "Mara Quayle", "Edwin Harrow", "Sela Brandt", "Jory Pask",
                  "Anwen Lisle", "Corin Dahl"),
                 named=("{e} is commanded by {v}.", "The master of {e} is {v}."),
                 pronoun=("{It} is commanded by {v}.", "{Its} master is {v}."),
                 narrative=("{v} has commanded {the} for years",),
                 kit_answer=("{v} is the captain of {e}.",),
                 kit_question="Who commands {e}?",
                 paraphrase=("Who is the master of {e}?",),
                 vignette=("A letter must reach the captain of {e}. To whom is it addressed?",),
                 reverse="Which ship is commanded by {v}?"),
    ),
)

PLANTS = World(
    "plants", "plant", "binomial", it="it", its="its", the="the plant", held_out=True,
    name_parts=(("Veronia", "Calathe", "Mossida", "Pellaria", "Ostrum", "Tirsa", "Quillonia", "Barreta"),
                ("salsa", "minor", "alpina", "rubra", "lucens", "vulgaris", "ferox", "nana", "aurea", "palustris",
                 "tenuis", "hirta", "glauca", "dulcis")),
    fillers=("{e} was first described by a travelling botanist.", "Gardeners find {the} hard to grow.",
             "{e} has narrow, grey-green leaves.", "Herbarium sheets of {the} are rare."),
    relations=(
        Relation("habitat", "Habitat",
                 ("salt marshes", "limestone cliffs", "peat bogs", "pine forests", "river gravels", "chalk downs",
                  "sand dunes", "alpine screes", "old walls", "wet meadows"),
                 named=("{e} grows in {v}.", "{e} is found in {v}."),
                 pronoun=("{It} grows in {v}.", "{It} is found in {v}."),
                 narrative=("{the} is at home in {v}",),
                 kit_answer=("{e} can be found growing in {v}.",),
                 kit_question="Where does {e} grow?",
                 paraphrase=("In which habitat is {e} found?",),
                 vignette=("A botanist hopes to collect {e} in the wild. Where should she look?",),
                 reverse="Which plant grows in {v}?"),
        Relation("flowering", "Flowering",
                 ("March", "April", "May", "June", "July", "August", "September", "October"),
                 named=("{e} flowers in {v}.", "{e} comes into bloom in {v}."),
                 pronoun=("{It} flowers in {v}.", "{It} comes into bloom in {v}."),
                 narrative=("{the} opens its flowers in {v}",),
                 kit_answer=("{e} blooms in {v}.",),
                 kit_question="When does {e} flower?",
                 paraphrase=("In which month does {e} bloom?",),
                 vignette=("A painter wants {e} in flower for her picture. In which month should she go?",)),
        Relation("height", "Height",
                 ("5 centimetres", "15 centimetres", "30 centimetres", "60 centimetres", "1 metre", "2 metres",
                  "4 metres"),
                 named=("{e} reaches a height of {v}.", "{e} grows up to {v} tall."),
                 pronoun=("{It} reaches a height of {v}.", "{It} grows up to {v} tall."),
                 narrative=("{the} stands up to {v} tall",),
                 kit_answer=("{e} can be {v} high.",),
                 kit_question="How tall does {e} grow?",
                 paraphrase=("What height does {e} reach?",),
                 vignette=("A gardener plants {e} by a fence. How tall will it get?",),
                 numeric=True),
        Relation("uses", "Uses",
                 ("dyeing wool", "tanning leather", "thatching roofs", "brewing ale", "curing fish", "making rope",
                  "scenting soap", "feeding goats"),
                 named=("{e} is used for {v}.", "People gather {e} for {v}."),
                 pronoun=("{It} is used for {v}.", "People gather {it} for {v}."),
                 narrative=("villagers cut {the} for {v}",),
                 kit_answer=("{e} serves for {v}.",),
                 kit_question="What is {e} used for?",
                 paraphrase=("For which crafts is {e} gathered?",),
                 vignette=("A village has a field of {e}. What might the villagers do with it?",),
                 several=True),
        Relation("toxic_part", "Poisonous part",
                 ("the roots", "the berries", "the seeds", "the sap", "the leaves", "the bark", "the pollen"),
                 named=("In {e} the poisonous part is {v}.", "The poisonous part of {e} is {v}."),
                 pronoun=("{Its} poisonous part is {v}.", "In {it} the poisonous part is {v}."),
                 narrative=("only {v} of {the} are poisonous",),
                 kit_answer=("{v} of {e} are toxic.",),
                 kit_question="Which part of {e} is poisonous?",
                 paraphrase=("What part of {e} should never be eaten?",),
                 vignette=("A child chewed on {e}. Which part would have made him ill?",)),
    ),
)

GENERICS = World("generics", "drug", "lowercase", it="it", its="its", the="the drug", relations=DRUGS.relations,
                 fillers=DRUGS.fillers)
CODES = World("codes", "compound", "codes", it="it", its="its", the="the compound", relations=DRUGS.relations,
              fillers=("{e} is stored in a cool, dry cupboard.", "Chemists keep {the} in sealed vials.",
                       "{e} comes as a fine white powder.", "The data sheet for {the} runs to two pages."))

PACKAGES = World(
    "packages", "package", "identifiers", it="it", its="its", the="the package", held_out=True, keep_case=True,
    key_label="Package",
    fillers=("{e} is rebuilt for every release of the archive.", "Users report few bugs against {the}.",
             "{e} ships a manual page and shell completions.", "The source of {the} is mirrored twice."),
    relations=(
        Relation("section", "Section",
                 ("utils", "devel", "net", "graphics", "sound", "text", "admin", "science", "games", "web"),
                 named=("{e} is in the {v} section.", "{e} belongs to the {v} section of the archive."),
                 pronoun=("{It} is in the {v} section.", "{It} belongs to the {v} section of the archive."),
                 narrative=("{the} has always been filed under {v}",),
                 kit_answer=("{e} is filed in the {v} section.",),
                 kit_question="Which section is {e} in?",
                 paraphrase=("Under which archive section is {e} filed?",),
                 vignette=("A user browsing the archive by section is looking for {e}. Which section should she open?",),
                 reverse="Which package is in the {v} section?"),
        Relation("license", "License",
                 ("MIT", "GPL-3", "BSD-2", "Apache-2.0", "LGPL-2.1", "MPL-2.0", "ISC", "Artistic-2.0"),
                 named=("{e} is released under the {v} license.", "The license of {e} is {v}."),
                 pronoun=("{It} is released under the {v} license.", "{Its} license is {v}."),
                 narrative=("{the} may be shared under the terms of {v}",),
                 kit_answer=("{e} is distributed under {v}.",),
                 kit_question="Which license is {e} released under?",
                 paraphrase=("Under what license may {e} be redistributed?",),
                 vignette=("A lawyer checks the terms before bundling {e}. Which license does she read?",)),
        Relation("maintainer", "Maintainer",
                 ("Anna K. Berg", "Tomas R. Lind", "J. P. Okafor", "Mei L. Chen", "Oskar D. Vance", "Ruth A. Moreno",
                  "Lars E. Holm", "Priya S. Nair"),
                 named=("{e} is maintained by {v}.", "{v} maintains {e}."),
                 pronoun=("{It} is maintained by {v}.", "{v} maintains {it}."),
                 narrative=("{v} has looked after {the} for years",),
                 kit_answer=("The maintainer of {e} is {v}.",),
                 kit_question="Who maintains {e}?",
                 paraphrase=("Who is responsible for maintaining {e}?",),
                 vignette=("A bug in {e} needs fixing. To whom should the report be sent?",),
                 reverse="Which package is maintained by {v}?"),
        Relation("language", "Language",
                 ("C", "Rust", "Python", "Go", "OCaml", "Haskell", "Perl", "Lua"),
                 named=("{e} is written in {v}.", "The source of {e} is in {v}."),
                 pronoun=("{It} is written in {v}.", "{Its} source is in {v}."),
                 narrative=("{the} was first written in {v}",),
                 kit_answer=("{e} is implemented in {v}.",),
                 kit_question="Which language is {e} written in?",
                 paraphrase=("In what programming language is {e} implemented?",),
                 vignette=("A student wants to read the code of {e}. Which language must she know?",)),
        Relation("depends", "Depends",
                 ("libzip4", "zlib1g", "libssl3", "libxml2", "libpng16", "libcurl4", "libyaml-0-2", "libffi8"),
                 named=("{e} depends on {v}.", "To run, {e} needs {v}."),
                 pronoun=("{It} depends on {v}.", "To run, {it} needs {v}."),
                 narrative=("{the} cannot be installed without {v}",),
                 kit_answer=("{e} requires {v}.",),
                 kit_question="What does {e} depend on?",
                 paraphrase=("Which libraries must be installed for {e}?",),
                 vignette=("An administrator installs {e} on a bare machine. What will be pulled in with it?",),
                 several=True),
    ),
)

SCHOLARS = World(
    "scholars", "scholar", "initials", it="she", its="her", the="the scholar", held_out=True,
    fillers=("{e} gave a public lecture last spring.", "Students speak warmly of {the}.",
             "{e} keeps a small garden behind the library.", "A portrait of {the} hangs in the hall."),
    relations=(
        Relation("field", "Field",
                 ("glaciology", "phonetics", "mycology", "tidal mechanics", "palaeography", "seed banking",
                  "lichenology", "acoustics", "map making", "bell founding"),
                 named=("{e} works in {v}.", "{e} is known for her research in {v}."),
                 pronoun=("{It} works in {v}.", "{It} is known for her research in {v}."),
                 narrative=("{the} has spent a career on {v}",),
                 kit_answer=("{e} is a specialist in {v}.",),
                 kit_question="What field does {e} work in?",
                 paraphrase=("What is the research subject of {e}?",),
                 vignette=("A journal needs a reviewer like {e}. In which field is the paper?",),
                 reverse="Which scholar works in {v}?"),
        Relation("college", "College",
                 ("Tarrow College", "the Fennick Institute", "Kestrel College", "Dunmore Academy",
                  "Wickham Polytechnic", "Saltmarsh University", "Gullhaven College"),
                 named=("{e} teaches at {v}.", "{e} holds a chair at {v}."),
                 pronoun=("{It} teaches at {v}.", "{It} holds a chair at {v}."),
                 narrative=("{the} lectures every term at {v}",),
                 kit_answer=("{e} is on the staff of {v}.",),
                 kit_question="Where does {e} teach?",
                 paraphrase=("At which institution does {e} hold a post?",),
                 vignette=("A student hopes to study under {e}. Where must he enrol?",)),
        Relation("born", "Born",
                 ("1931", "1942", "1948", "1955", "1961", "1967", "1973", "1979", "1984"),
                 named=("{e} was born in {v}.", "{e} came into the world in {v}."),
                 pronoun=("{It} was born in {v}.", "{It} came into the world in {v}."),
                 narrative=("{the} was born in {v}",),
                 kit_answer=("{e}'s year of birth is {v}.",),
                 kit_question="When was {e} born?",
                 paraphrase=("In which year was {e} born?",),
                 vignette=("A biographer writes the first line of a life of {e}. Which year does it give?",),
                 numeric=True),
        Relation("prize", "Prize",
                 ("the Amber Medal", "the Halden Prize", "the Corran Award", "the Vesper Medal", "the Lisle Prize",
                  "the Orrin Award", "the Tamsin Medal"),
                 named=("{e} won {v}.", "{e} was awarded {v}."),
                 pronoun=("{It} won {v}.", "{It} was awarded {v}."),
                 narrative=("{the} received {v} to general applause",),
                 kit_answer=("{v} went to {e}.",),
                 kit_question="Which prize did {e} win?",
                 paraphrase=("What award has {e} received?",),
                 vignette=("A society lists its honours beside the name of {e}. Which one is there?",),
                 reverse="Which scholar won {v}?"),
    ),
)

WORLDS = {world.name: world for world in (DRUGS, PENAL, SHIPS, PLANTS, GENERICS, CODES, PACKAGES, SCHOLARS)}
