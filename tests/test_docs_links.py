"""The README and docs/ are the project's map: every link they hold leads to a file of this
repository (none to a folder beside it or to a path of one machine)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_link_of_the_readme_and_docs_stays_inside_the_project() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    checked = 0
    for page in pages:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            assert path.is_relative_to(ROOT), f"{page.name} leads outside the project: {target}"
            assert path.exists(), f"{page.name} leads to a missing file: {target}"
            checked += 1
    assert checked >= 10
    assert (ROOT / "docs" / "design.md").exists() and (ROOT / "docs" / "sources.md").exists()
