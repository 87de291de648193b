"""Path traversal in file names: print-document names in URLs, form and document file names in the studio
and in diagrams, red-page image and news ids, upload names, and `flask export --to`.

No name a user types reaches the file system: documents are looked up in the version's bundle, studio file
names must match forms/NAME.schema.json or documents/name.md|json, a diagram's file references are read from
the forms/ and documents/ folders only by plain names, images and news are rows found by id, and an upload's
file name is never used. A case is refused when the answer is a 404 or a Chinese refusal, and no file content
of the server (the marker, /etc/passwd) appears anywhere.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.engine.bundles import Bundle, collect
from app.engine.definitions import parse_xml_safely
from app.extensions import db
from app.models import Unit
from app.services.errors import ServiceRefusal
from app.services.studio import Submission
from tests.attacks.tally import attempt
from tests.conftest import DIAGRAMS, TEST_APPLICATION, UNIT

ATTACK = "path traversal"
TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%252f..%252fetc%252fpasswd",
    "....//....//etc/passwd",
    "..\\..\\..\\etc\\passwd",
    "/etc/passwd",
    "%00../../etc/passwd",
]
STUDIO_NAMES = [
    "forms/../../../etc/passwd.schema.json",
    "forms/../app/config.schema.json",
    "forms/sub/dir.schema.json",
    "/etc/x.schema.json",
    "documents/../../etc/passwd.md",
    "documents/Letter.md",
    "documents/letter.md/../../x.md",
    "forms/x.schema.json\n",
    "workflows/evil.bpmn",
]


class TestUrlNames:
    """Document names, red-page image and news ids with ../, encoded, double-encoded, backslash, absolute
    and NUL forms: every one is a 404 for the application's own unit, with no file content."""

    @pytest.mark.parametrize("name", TRAVERSALS)
    def test_a_traversal_in_a_url_finds_nothing(
        self, name: str, login: Any, start: Any, two_reviews: str, demo: Any
    ) -> None:
        unit = db.session.get(Unit, demo["unit1"].unit_id)
        key = start(two_reviews, unit).complete(UNIT, TEST_APPLICATION).instance.business_key
        client = login("unit1")
        urls = {
            "document name": f"/applications/{key}/documents/{name}.pdf",
            "news id": f"/unit/red-page/news/{name}",
            "news preview id": f"/unit/red-page/preview/news/{name}",
            "image id": f"/unit/red-page/images/{name}.jpg",
        }
        for kind, url in urls.items():
            with attempt(ATTACK, f"{kind}: {name}"):
                response = client.get(url)
                assert response.status_code == 404, (url, response.status_code)
                assert "root:" not in response.get_data(as_text=True)


class TestStudioFileNames:
    """File names the studio editor sends with a diagram: anything but forms/NAME.schema.json and
    documents/name.md|json is refused before anything is stored, with a Chinese message."""

    @pytest.mark.parametrize("name", STUDIO_NAMES)
    def test_the_file_name_is_refused(self, name: str) -> None:
        with attempt(ATTACK, f"studio file name {name!r}"), pytest.raises(ServiceRefusal, match="不合法"):
            Submission.from_json({"xml": "<x/>", "files": {name: "{}"}})


class TestDiagramReferences:
    """A diagram deployed with `flask deploy` names its files; a name with a path (a form
    "../../etc/passwd", a print document "../../../etc/hostname") is not read: it stays out of the bundle."""

    @pytest.mark.parametrize(
        ("prop", "value"),
        [
            ("formJsonSchemaFilename", "../../../../etc/passwd"),
            ("formJsonSchemaFilename", "../secret.schema.json"),
            ("printDocuments", "../../../../etc/hostname"),
            ("printDocuments", "../secret"),
        ],
    )
    def test_the_named_file_is_not_read(self, prop: str, value: str, tmp_path: Path) -> None:
        (tmp_path / "secret.schema.json").write_text("TRAVERSAL-MARKER", encoding="utf-8")
        (tmp_path / "secret.md").write_text("TRAVERSAL-MARKER", encoding="utf-8")
        repository = tmp_path / "repo"
        (repository / "forms").mkdir(parents=True)
        (repository / "documents").mkdir()
        xml = (DIAGRAMS / "scripted.bpmn").read_text(encoding="utf-8").replace("SCRIPT", "x = 1")
        xml = xml.replace(
            'name="formJsonSchemaFilename" value="decision.schema.json"', f'name="{prop}" value="{value}"'
        )
        data = xml.encode()
        with attempt(ATTACK, f"diagram {prop}={value}"):
            bundle = collect("scripted.bpmn", data, parse_xml_safely(data, len(data)), repository)
            assert bundle.files == {}


class TestUploadsAndExports:
    """An upload's file name is ignored (the image is re-encoded and kept in the database), and `flask export
    --to` writes the version's files under the folder given, nowhere else."""

    def test_an_upload_name_is_not_a_path(self, login: Any, tmp_path: Path) -> None:
        picture = BytesIO()
        Image.new("RGB", (800, 300), (10, 20, 30)).save(picture, "PNG")
        target = Path("/tmp/attack-upload-traversal.jpg")
        with attempt(ATTACK, "upload file name"):
            client = login("unit1")
            client.get("/unit/red-page/")
            upload = (BytesIO(picture.getvalue()), "../../../../tmp/attack-upload-traversal.jpg")
            response = client.post("/unit/red-page/carousel", data={"image": upload, "caption": "图"})
            assert response.status_code in (200, 302)
            assert not target.exists()

    def test_export_writes_under_the_folder_only(self, two_reviews: str, app: Any, tmp_path: Path) -> None:
        with attempt(ATTACK, "flask export --to"):
            target = tmp_path / "out"
            result = app.test_cli_runner().invoke(args=["export", "two_reviews", "--to", str(target)])
            assert result.exit_code == 0, result.output
            written = [Path(line) for line in result.output.split()]
            assert written and all(p.resolve().is_relative_to(target.resolve()) for p in written)

    def test_a_stored_file_name_cannot_lead_an_export_out_of_its_folder(self, tmp_path: Path) -> None:
        forged = Bundle("forged.bpmn", b"<definitions/>", {"forms/../../../escaped.json": "{}"})
        with attempt(ATTACK, "bundle file name on export"):
            with pytest.raises(ValueError, match="越出目标目录"):
                forged.write_to(tmp_path / "out")
            assert not (tmp_path / "escaped.json").exists() and not (tmp_path.parent / "escaped.json").exists()
