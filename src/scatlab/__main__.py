"""`python -m scatlab ...`: the command line (also under `torchrun -m scatlab ...`)."""
from .cli import main

raise SystemExit(main())
