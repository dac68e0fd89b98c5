# nbgrader configuration for this course (nbgrader 0.9.6). Read by every `nbgrader ...` command run
# in this folder or with --course-dir pointing here; `make release|autograde|feedback|grades` wrap them.
# See README "For instructors" and /docs for why each setting is what it is.
import os

c = get_config()  # noqa: F821  (traitlets injects get_config when it loads this file)
HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "k8s-networking"
c.CourseDirectory.root = HERE
# Instructor version (answers + hidden tests) in solutions/<assignment>/, student version in exercises/.
# nbgrader substitutes student_id="." for these two steps, so the default directory_structure
# "{nbgrader_step}/{student_id}/{assignment_id}" gives solutions/<a>/ and exercises/<a>/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Everything grading produces stays under .grading/ (git-ignored): submissions, graded copies,
# feedback, the gradebook.
c.CourseDirectory.submitted_directory = ".grading/submitted"
c.CourseDirectory.autograded_directory = ".grading/autograded"
c.CourseDirectory.feedback_directory = ".grading/feedback"
c.CourseDirectory.solution_directory = ".grading/solution"
os.makedirs(os.path.join(HERE, ".grading"), exist_ok=True)  # SQLite needs the folder to exist
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, ".grading", "gradebook.db")

# Answers are YAML text inside triple quotes, so the student stub is a YAML comment, not Python.
c.ClearSolutions.code_stub = {"python": "# YOUR ANSWER HERE (YAML)"}

# Per-cell timeout: a check on the simulated cluster takes well under a second; on a real kind
# cluster (NETLAB_BACKEND=kind) applying policies and probing a matrix can take minutes.
c.Execute.timeout = 300
c.Execute.startup_timeout = 120

# A learner who deletes a test cell does not escape it: nbgrader puts it back and runs it.
c.OverwriteCells.add_missing_cells = True

# No IgnorePattern: correct answers write nothing to stderr (the grader never does, and the
# verifier's stderr is captured), so there is nothing to ignore, and ignoring stderr could only
# hide real failures.

# Feedback shows each test's result and message but not the hidden expectations themselves, so
# exercises can be reused next term (failure messages name the wrong flows; that is the feedback).
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# Scores come from the trusted re-check only, and student code runs in a sandbox while it is
# graded (grader/checks/nbgrader_ext.py explains both; README "How a score is decided"):
# NormalizeSubmission maps pasted, duplicated or deleted cells onto the released notebook before
# nbgrader's own sanitising, and VerifiedExecute runs the kernel in bubblewrap, re-checks every test
# cell in a fresh process outside it and replaces those cells' outputs with the re-check's verdict.
# Without bubblewrap grading refuses to start; --VerifiedExecute.sandbox=none grades without it
# (trusted submissions only). --VerifiedExecute.reveal_hidden=True shows the hidden tests' pictures
# in feedback (after the deadline). The kernel is the python of the environment running nbgrader
# (jupyter_client maps the "python3" kernelspec to sys.executable), where `pip install -e .` put
# the grader package.
try:
    from grader.checks.nbgrader_ext import NormalizeSubmission, VerifiedExecute
except ImportError as exc:  # grader not installed where nbgrader runs: no test can pass anyway
    print(f"nbgrader_config.py: grader is not importable ({exc}); install the course with `make install`")
else:
    from nbgrader.preprocessors import ClearOutput, DeduplicateIds, OverwriteCells, OverwriteKernelspec

    c.Autograde.sanitize_preprocessors = [
        NormalizeSubmission,
        ClearOutput,
        DeduplicateIds,
        OverwriteKernelspec,
        OverwriteCells,
        CheckCellMetadata,
    ]
    c.Autograde.autograde_preprocessors = [
        VerifiedExecute,
        IgnorePattern,  # disabled (IgnorePattern.enabled is False); kept so the list matches nbgrader's
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
