"""Release and grading tools built on nbgrader (see README, "For instructors")."""

import sys

# nbformat imports jsonschema, whose format checkers import rfc3987_syntax when it is installed
# (jupyter-events requires it); that import builds a parser and costs about 4 s of CPU time in
# every process that reads a notebook: the grader's workers, the site's, the check (measured:
# `python -X importtime -c "import nbformat"`, 4.2 of its 4.7 s). Nothing here validates IRIs,
# and nbformat's schemas use no "format" keyword, so the tools skip it (an import of it raises
# ImportError, which jsonschema expects from an optional checker).
sys.modules.setdefault("rfc3987_syntax", None)
