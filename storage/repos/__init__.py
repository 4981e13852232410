"""Repositories: the queries the rest of the bot needs, one module per area."""
