"""What a phone number and a resident ID number look like (the same rules for the API, FHIR import and
the demo data)."""

from __future__ import annotations

import re

PHONE_PATTERN = re.compile(r"^(?:1[3-9]\d{9}|\+[1-9]\d{7,14}|0\d{2,3}-?\d{7,8})$")
ID_NUMBER_PATTERN = re.compile(r"^\d{17}[\dXx]$")
