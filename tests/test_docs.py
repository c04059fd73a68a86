"""The README and the CLI agree: every command has help text and is documented."""

from crisis_nlp.cli import build_parser

from conftest import ROOT


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, sp in sub.choices.items():
        assert sp.description or any(c.dest == name and c.help for c in sub._choices_actions), name
        assert f"crisis-nlp {name}" in readme, name


def test_readme_setup_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for cmd in ('pip install . && crisis-nlp classify', 'pip install ".[test]" && pytest'):
        assert cmd in readme and cmd in ci
