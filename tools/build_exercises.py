"""Write the nbgrader source notebooks in ``solutions/`` (answers + hidden tests).

    python tools/build_exercises.py            # rewrite solutions/*/*.ipynb
    python tools/build_exercises.py --out DIR  # write elsewhere (the sync test compares)
    make release                               # then regenerate exercises/ with nbgrader

Answers are YAML text in triple quotes; tests build a ``grader.checks.Check``. Values that come
from the simulator's addressing (basics) are computed here from the simulator, so solutions stay
right when the simulator changes; the hidden tests read them from the lab at grading time.
Adding an exercise: write a function returning a ``Notebook`` and list it in ``NOTEBOOKS``.
"""

import argparse
from pathlib import Path

from exnb import (
    e01_basics,
    e02_services,
    e03_ingress,
    e04_models,
    e05_egress,
    e06_nsg,
    e07_policies,
    e08_capstone,
)

ROOT = Path(__file__).resolve().parents[1]

NOTEBOOKS = (e01_basics.build, e02_services.build, e03_ingress.build, e04_models.build, e05_egress.build, e06_nsg.build,
             e07_policies.build, e08_capstone.build)


def build(out: Path) -> list[Path]:
    return [make().write(out) for make in NOTEBOOKS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "solutions", help="where to write (default: solutions/)")
    args = parser.parse_args()
    for path in build(args.out):
        print(path)


if __name__ == "__main__":
    main()
