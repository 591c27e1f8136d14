"""The licences a dataset may be published under: SPDX id → (full name, canonical URL).

The researcher's metadata names one (:mod:`odatis_vre.publishing.metadata`); the deposited file's ACDD
``license`` (:mod:`odatis_vre.publishing.datafacts`) and the DataCite record
(:mod:`odatis_vre.publishing.datacite_record`) carry its name and URL.

>>> LICENCES["CC-BY-4.0"][0]
'Creative Commons Attribution 4.0 International'
"""

from __future__ import annotations

#: Licences accepted for datasets: SPDX id -> (full name, canonical URL). Lower-case lookup.
LICENCES: dict[str, tuple[str, str]] = {
    "CC-BY-4.0": (
        "Creative Commons Attribution 4.0 International",
        "https://creativecommons.org/licenses/by/4.0/legalcode",
    ),
    "CC-BY-SA-4.0": (
        "Creative Commons Attribution Share Alike 4.0 International",
        "https://creativecommons.org/licenses/by-sa/4.0/legalcode",
    ),
    "CC-BY-NC-4.0": (
        "Creative Commons Attribution Non Commercial 4.0 International",
        "https://creativecommons.org/licenses/by-nc/4.0/legalcode",
    ),
    "CC-BY-NC-SA-4.0": (
        "Creative Commons Attribution Non Commercial Share Alike 4.0 International",
        "https://creativecommons.org/licenses/by-nc-sa/4.0/legalcode",
    ),
    "CC-BY-ND-4.0": (
        "Creative Commons Attribution No Derivatives 4.0 International",
        "https://creativecommons.org/licenses/by-nd/4.0/legalcode",
    ),
    "CC-BY-NC-ND-4.0": (
        "Creative Commons Attribution Non Commercial No Derivatives 4.0 International",
        "https://creativecommons.org/licenses/by-nc-nd/4.0/legalcode",
    ),
    "CC-BY-3.0": ("Creative Commons Attribution 3.0 Unported", "https://creativecommons.org/licenses/by/3.0/legalcode"),
    "CC0-1.0": ("Creative Commons Zero v1.0 Universal", "https://creativecommons.org/publicdomain/zero/1.0/legalcode"),
    "ODbL-1.0": ("Open Data Commons Open Database License v1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
    "ODC-By-1.0": ("Open Data Commons Attribution License v1.0", "https://opendatacommons.org/licenses/by/1-0/"),
    "PDDL-1.0": (
        "Open Data Commons Public Domain Dedication & License 1.0",
        "https://opendatacommons.org/licenses/pddl/1-0/",
    ),
    "etalab-2.0": (
        "Etalab Open License 2.0",
        "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf",
    ),
    "MIT": ("MIT License", "https://opensource.org/license/mit/"),
    "Apache-2.0": ("Apache License 2.0", "https://www.apache.org/licenses/LICENSE-2.0"),
    "BSD-3-Clause": ('BSD 3-Clause "New" or "Revised" License', "https://opensource.org/license/bsd-3-clause/"),
}
