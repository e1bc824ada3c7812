"""``python -m autograd_lite`` runs the command-line interface."""

from autograd_lite.cli import main

raise SystemExit(main())
