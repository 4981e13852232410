"""Dependencies: what is installed is pinned with hashes (the lock files `make lock` writes), the parsers of
untrusted input have floors past their advisories, and workbook XML from users goes through defusedxml."""

from __future__ import annotations

import io
import re
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from storage.roster_import import XL_FILE_CORRUPT
from tests.test_excel import read, xlsx

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {"aiohttp": "3.14.3", "pillow": "12.3", "pypdf": "7.1", "cryptography": "50", "openpyxl": "3.1.5"}


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return {Requirement(d).name.lower(): Requirement(d) for d in deps}


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


def test_parsers_of_untrusted_input_have_recent_floors() -> None:
    reqs = _requirements()
    for name, floor in FLOORS.items():
        spec = reqs[name].specifier
        assert not spec.contains(str(Version(floor)) + "-rc0", prereleases=True), name  # nothing below the floor
        lowest = min(Version(s.version) for s in spec if s.operator == ">=")
        assert lowest >= Version(floor), (name, str(spec))
    assert "defusedxml" in reqs


def test_both_locks_pin_every_dependency_with_hashes() -> None:
    reqs = _requirements()
    runtime, test = _pins("requirements.lock"), _pins("requirements-test.lock")
    test_only = {
        Requirement(d).name.lower()
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    }
    for name, req in reqs.items():
        key = name.replace("_", "-").replace(".", "-")
        found = {k.replace("_", "-").replace(".", "-"): v for k, v in test.items()}
        assert key in found, f"{name} is not in requirements-test.lock: run `make lock`"
        assert req.specifier.contains(found[key], prereleases=True), (name, found[key], str(req.specifier))
        if name not in test_only:
            assert key in {k.replace("_", "-").replace(".", "-") for k in runtime}, (
                f"{name} missing from requirements.lock"
            )
    # The two agree wherever they overlap (the test lock is constrained by the runtime one).
    assert all(test.get(k) == v for k, v in runtime.items())
    for lock in ("requirements.lock", "requirements-test.lock"):
        blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", (ROOT / lock).read_text())
        pinned = [b for b in blocks if re.match(r"[A-Za-z0-9_.-]+==", b)]
        assert pinned and all("--hash=sha256:" in b for b in pinned), lock


def test_make_and_docker_install_from_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r $(TEST_LOCK)" in makefile and "--no-deps -e ." in makefile
    assert re.search(r"^lock:", makefile, re.M) and "--generate-hashes" in makefile
    docker = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "--require-hashes" in docker and "requirements.lock" in docker
    assert "make lock" in (ROOT / "README.md").read_text()


def test_openpyxl_reads_workbook_xml_through_defusedxml() -> None:
    import openpyxl
    from openpyxl.xml import functions

    assert openpyxl.DEFUSEDXML is True
    assert functions.iterparse.__module__.startswith("defusedxml")
    assert functions.fromstring.__module__.startswith("defusedxml")


def _with_entity_bomb(data: bytes) -> bytes:
    """The workbook's sheet with an internal entity (the seed of a billion-laughs bomb) and a formula, so both
    openpyxl and the roster's own formula scan read it."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = body.decode().replace("<t>ENTITY</t>", "<t>&b;</t>", 1)
                text = text.replace("</sheetData>", '<row r="9"><c r="K9"><f>1+1</f><v>2</v></c></row></sheetData>', 1)
                doctype = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                body = (doctype + text).encode()
            dst.writestr(item, body)
    return out.getvalue()


def test_a_roster_with_xml_entities_is_refused_not_expanded() -> None:
    from tests.test_admin import HEADERS

    rows = [HEADERS, ["HN0301", "ENTITY", "综合医院", "三级", "郑州", None, None, None, None, None]]
    report = read(_with_entity_bomb(xlsx(rows)))  # without defusedxml: a lab named "aaaa…" (100 a's)
    assert [i.message_id for i in report.issues] == [XL_FILE_CORRUPT]
    assert not report.rows
