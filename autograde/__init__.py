"""Release and grading tools built on nbgrader (see README, "For instructors")."""
