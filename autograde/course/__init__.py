"""Running a course: the ``cnnlab-grade`` commands.

``cli`` parses the command line; ``collect`` gathers submissions, ``grade`` grades a course
directory (one judge per submission, :mod:`autograde.judge`), ``gradebook`` and ``feedback``
write the results, ``check`` is the learner's self-check, ``demo`` grades a demo class.
"""
