"""One module per CLI subcommand; see wizard/cli.py for the contract."""
