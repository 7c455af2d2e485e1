"""The configuration reference in Markdown, generated from the schema.

`python -m facteur.config.reference > docs/configuration.md`; a unit test keeps the committed page equal
to the generated one.
"""

from __future__ import annotations

import sys

from facteur.config.fields import walk
from facteur.config.sample import yaml_value

INTRO = """\
# Configuration reference

<!-- Generated from src/facteur/config/schema.py by `python -m facteur.config.reference`. Do not edit. -->

facteur reads `/etc/facteur/facteur.yml` (or the file given with `--config`, or `$FACTEUR_CONFIG`).
Every key is optional: without a file, or with an empty one, the defaults below install a demo for
`example.test`. Unknown keys are errors. `facteur config sample` prints a commented file with every key;
`facteur config check` validates a file without touching the machine, and names the offending key on
one line, e.g. `at 'limits.max_list_members': Input should be less than or equal to 1000`.
"""


def render_reference() -> str:
    """Return the reference page as Markdown text."""
    parts = [INTRO]
    for key in walk():
        heading = "##" if key.depth == 0 else "###"
        parts.append(f"{heading} `{key.path}`\n")
        parts.append(f"{key.description}\n")
        rows = [("type", key.type_name)]
        if key.section is None:
            default = f"`{yaml_value(key.default)}`" if key.default is not None else "computed"
            rows.append(("default", default))
        if key.constraints:
            rows.append(("allowed", key.constraints))
        if key.example is not None:
            rows.append(("example", f"`{yaml_value(key.example)}`"))
        parts.append("| | |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows) + "\n")
    return "\n".join(parts)


def main() -> int:
    sys.stdout.write(render_reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
