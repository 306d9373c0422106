"""A third-party subcommand, as a plugin distribution would ship it (used by test_cli)."""

import click


@click.command()
@click.argument("who", default="world")
def hello(who: str) -> None:
    """Say hello (a plugin command)."""
    click.echo(f"hello {who}")
