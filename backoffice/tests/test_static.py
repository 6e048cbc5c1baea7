"""collectstatic as production runs it: manifest storage, every referenced file present."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from backoffice.tests.test_settings import PRODUCTION_ENV, run_manage

pytestmark = pytest.mark.xdist_group("collectstatic")  # one collectstatic run for the module's tests

# What a browser fetches relative to a static file: CSS url(...) and source maps in CSS and JS.
CSS_URL = re.compile(r"""url\(\s*['"]?(?P<ref>[^'")]+?)['"]?\s*\)""")
SOURCE_MAP = re.compile(r"""[#@] sourceMappingURL=(?P<ref>\S+?)(?:\s*\*/)?\s*$""", re.MULTILINE)


def local_references(path):
    text = path.read_text(errors="replace")
    patterns = (CSS_URL, SOURCE_MAP) if path.suffix == ".css" else (SOURCE_MAP,)
    for pattern in patterns:
        for match in pattern.finditer(text):
            ref = match["ref"].split("#")[0].split("?")[0]
            if ref and not re.match(r"^(data:|https?:|//|/)", ref):
                yield ref


def missing_references(root):
    return sorted(
        f"{path.relative_to(root)} -> {ref}"
        for path in root.rglob("*")
        if path.suffix in {".css", ".js"}
        for ref in local_references(path)
        if not (path.parent / ref).exists()
    )


def test_every_file_our_static_files_reference_is_shipped():
    assert missing_references(Path(settings.BASE_DIR) / "static") == []


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = tmp_path_factory.mktemp("staticfiles")
    result = run_manage("collectstatic", "--noinput", "-v0", env={**PRODUCTION_ENV, "STATIC_ROOT": str(root)})
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return root


@pytest.mark.slow  # collectstatic of every file, with the manifest
def test_collectstatic_succeeds_with_the_production_manifest_storage(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    for name in ("css/site.css", "vendor/chartjs/chart.umd.min.js", "vendor/chartjs/chart.umd.min.js.map"):
        assert (collected / manifest[name]).exists(), name
    assert any(name.startswith("wagtailadmin/css/") for name in manifest)


@pytest.mark.slow  # shares the collectstatic above
def test_every_collected_css_and_js_reference_has_a_file(collected):
    assert missing_references(collected) == []
