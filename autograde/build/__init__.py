"""Building the course, for its maintainers: the student release and solution runs.

``release`` turns ``solutions/`` into ``notebooks/`` (``make release``); ``execute`` runs a
notebook in a Jupyter kernel as a learner would (the notebook tests, ``make demo``'s check of the
solutions); ``nbgrader_config`` maps nbgrader's folders onto the repository; ``wheel`` builds the wheel the
student bundle and the Gradescope autograder install; ``site`` builds the course website
(``make site``). Nothing here takes part in grading a submission.
"""
