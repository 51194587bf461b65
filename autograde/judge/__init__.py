"""The trusted side of grading: one submitted notebook against its source notebook.

``plan`` reads a submission and pairs its cells with the source's (which cells run, which
test cells grade them); ``checks`` runs one test cell here against proxies of the sandbox's
names; ``run`` drives the sandbox (:mod:`autograde.sandbox`) through the plan and collects the
results (:func:`grade_notebook`).
"""

from .run import grade_notebook

__all__ = ["grade_notebook"]
