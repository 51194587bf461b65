"""nbgrader configuration mapping nbgrader's folders onto this repository.

nbgrader's *source* is the notebooks built from ``solutions/`` by ``make release`` (into the
ignored ``build/source``), its *release* is the committed ``notebooks/``; submissions, autograded
copies, feedback and the gradebook live in ``course/`` (ignored). Use it from the repository root::

    nbgrader autograde 01-convolution --config autograde/build/nbgrader_config.py

``cnnlab-grade`` (see ``autograde/course/cli.py``) reads the same folders.
"""

from autograde.config import ROOT

c = get_config()  # noqa: F821 - injected by traitlets when nbgrader loads this file

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "build/source"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = "course/submitted"
c.CourseDirectory.autograded_directory = "course/autograded"
c.CourseDirectory.feedback_directory = "course/feedback"
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'course' / 'gradebook.db'}"
c.CourseDirectory.assignment_id = ""
c.ExecutePreprocessor.timeout = 60
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
