"""Isolating one notebook: the learner's code runs in a child process the judge talks to.

- :mod:`.process`: the judge's handle (start, kill, exit status);
- :mod:`.child`: the child's main loop (runs cells, serves calls, watches forbidden calls);
- :mod:`.limits`: rlimits, Landlock and seccomp, applied by the child to itself;
- :mod:`.tamper`: probes for monkeypatching and rigged values (flags for the instructor);
- :mod:`.labels`: tracebacks of learner code labelled with the cells a learner can find.

The messages between the two travel through :mod:`autograde.wire`.
"""
