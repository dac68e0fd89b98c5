# Two commands for learners: `make lab` and `make test`. Everything else is for instructors and CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
COURSE_START ?= course/00-setup-and-the-lab.ipynb
# Jupyter refuses to run as root without --allow-root (containers, some cloud VMs).
JUPYTER_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
# The one statement of the fast suite's budget: seconds of wall time on a quiet 2-core machine.
# `make test-fast` prints its own time (and the load average) against it.
TEST_FAST_BUDGET := 45

.PHONY: help lab test test-fast lint install install-test benchmark conformance lessons build-exercises release autograde feedback grades clean-grading handout

help:
	@echo "make lab         start JupyterLab on the course (creates .venv, installs)"
	@echo "make test        run the whole test suite (installs test extras)"
	@echo "make test-fast   unit layer only, within $(TEST_FAST_BUDGET) s on a quiet 2-core machine"
	@echo "make lint        ruff and mypy (settings in pyproject.toml)"
	@echo "make benchmark   print speed ratios (benchmarks/)"
	@echo "make conformance (Docker) real kind clusters vs the simulation: conformance-report.md/.json"
	@echo "make lessons     regenerate course/*.ipynb and course/FACTS.md from tools/lessons/"
	@echo "make release | autograde | feedback | grades   instructor workflow (nbgrader), see README"
	@echo "make build-exercises   regenerate solutions/ from tools/build_exercises.py"
	@echo "make handout     dist/handout/: what learners get (no answers, no hidden tests), a git repo to push"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	@touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed-base
install-test: $(VENV)/.installed-test

lab: install
	@$(BIN)/netlab doctor --brief
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) $(JUPYTER_ARGS) $(COURSE_START)

test: install-test
	$(BIN)/python -m pytest -n 2

test-fast: install-test
	@$(BIN)/python tools/timed.py --budget $(TEST_FAST_BUDGET) --name "make test-fast" -- \
		$(BIN)/python -m pytest -q -n 2 -m "not slow and not live and not browser" -p no:cacheprovider

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy

benchmark: install-test
	$(BIN)/python benchmarks/netpol_scale.py
	$(BIN)/python benchmarks/lessons_runtime.py
	$(BIN)/python benchmarks/autograde_throughput.py

lessons: install
	$(BIN)/python tools/build_lessons.py

# Needs Docker: `netlab up` per profile (steps timed), every scenario on both backends, then
# `netlab down` per profile (NETLAB_CONFORMANCE_KEEP=1 keeps the clusters). Profiles:
# NETLAB_CONFORMANCE_PROFILES=kindnet,calico-vxlan,... Writes conformance-report.md and .json.
conformance: install-test
	NETLAB_CONFORMANCE_REPORT=$(CURDIR)/conformance-report $(BIN)/python -m pytest -m live tests/conformance -v

# --- instructor workflow (thin wrappers around nbgrader; see README "For instructors") ---
# nbgrader runs `alembic` from PATH when it creates the gradebook, so the venv's bin goes first.
# ARGS passes extra nbgrader options, e.g. make autograde ARGS="--student alice --force".
NBGRADER = PATH="$(abspath $(BIN)):$$PATH" $(BIN)/nbgrader
ARGS ?=

build-exercises: install
	$(BIN)/python tools/build_exercises.py

release: install
	$(NBGRADER) generate_assignment "*" --force $(ARGS)

# A submission nbgrader cannot grade does not stop the others (make feedback writes it a page
# saying why); a broken grading environment (exit 75, "GRADING STOPPED") stops everything.
autograde: install
	@$(NBGRADER) autograde "*" $(ARGS); rc=$$?; \
	if [ $$rc -eq 75 ]; then echo "make autograde: grading stopped (see GRADING STOPPED above); nothing after it was graded" >&2; exit 75; fi; \
	if [ $$rc -ne 0 ]; then echo "make autograde: some submissions could not be graded (errors above); the others were. \`make feedback\` writes each of them a page saying why." >&2; fi

# Every submission gets a page: nbgrader's for the graded ones, feedback_gaps' (scored 0, and why)
# for those nbgrader could not grade or could not make a page for.
feedback: install
	@$(NBGRADER) generate_feedback "*" $(ARGS); rc=$$?; \
	$(BIN)/python -m grader.checks.feedback_gaps . && exit $$rc

grades: install
	$(NBGRADER) export --to .grading/grades.csv $(ARGS)
	@echo "grades written to .grading/grades.csv"

clean-grading:
	rm -rf .grading

# The learners' copy of the course: this repository holds the answer key (solutions/, tools/, tests/).
handout: | $(BIN)/python
	$(BIN)/python tools/make_handout.py $(ARGS)
