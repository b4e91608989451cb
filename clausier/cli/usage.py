"""Typer, and the Click it carries, speak English; the command line speaks French.

Help screens get French titles through Typer's own strings (``typer.rich_utils``) and a context
whose formatter writes « Utilisation : ». Usage errors are caught by ``run()``
(``standalone_mode=False``) and worded here from the exception's class and attributes; only the
few bare ``UsageError`` Click raises (an unknown command, arguments in excess) are read from
their English message, and an unforeseen one still says « Erreur », with exit code 2.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from difflib import get_close_matches
from typing import Any

import typer
from pydantic import ValidationError
from typer import rich_utils

from clausier.cli import runtime
from clausier.validation.messages import french_message

# Click's exceptions, from wherever this Typer takes Click (its own copy, or the click package)
click = importlib.import_module(typer.BadParameter.__module__)
ClickException = click.ClickException

_HELP_STRINGS = {
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commandes",
    "ERRORS_PANEL_TITLE": "Erreur",
    "REQUIRED_LONG_STRING": "[obligatoire]",
    "DEFAULT_STRING": "[par défaut : {}]",
    "ENVVAR_STRING": "[variable d'environnement : {}]",
    "DEPRECATED_STRING": "(obsolète) ",
    "ABORTED_TEXT": "Abandon.",
    "RICH_HELP": "Aide : [blue]{command_path} {help_option}[/]",
}


class _Formatter(typer.Context.formatter_class):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "Utilisation : " if prefix is None else prefix)


class _Context(typer.Context):
    formatter_class = _Formatter


def frenchify(command: Any) -> Any:
    """The command tree Typer built, its help screens and usage lines in French."""
    for name, text in _HELP_STRINGS.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, text)
    _walk(command, parent=None)
    return command


def _walk(command: Any, parent: Any) -> None:
    command.context_class = _Context
    context = _Context(command, parent=parent, info_name=command.name, **command.context_settings)
    help_option = command.get_help_option(context)  # made once, then kept by the command
    if help_option is not None:
        help_option.help = "Affiche cette aide."
    if hasattr(command, "subcommand_metavar"):
        command.subcommand_metavar = "COMMANDE [ARGUMENTS]..."
    for sub in getattr(command, "commands", {}).values():
        _walk(sub, parent=context)


def report(error: Exception) -> int:
    """Say a usage error in French on stderr, with the usage line; its exit code."""
    if isinstance(error, getattr(click, "NoArgsIsHelpError", ())):
        if error.format_message():  # without rich, the help is the message
            runtime.say(error.format_message())
        return error.exit_code
    runtime.say(f"Erreur : {explain(error)}")
    context = getattr(error, "ctx", None)
    if context is not None:
        runtime.say(context.get_usage())
        if context.command.get_help_option(context) is not None:
            runtime.say(f"Aide : {context.command_path} {context.help_option_names[0]}")
    return error.exit_code


def explain(error: Exception) -> str:
    if isinstance(error, click.MissingParameter):
        return _missing(error.param)
    if isinstance(error, click.BadParameter):
        return _bad_value(error)
    if isinstance(error, click.NoSuchOption):
        return f"Option inconnue : « {error.option_name} ».{_did_you_mean(error.possibilities)}"
    if isinstance(error, click.BadOptionUsage):
        return _option_usage(error.option_name, error.message)
    if isinstance(error, click.FileError):
        return f"Impossible d'ouvrir le fichier « {error.ui_filename} » : {error.message}."
    return _bare(error)


def _missing(param: Any) -> str:
    if param is None:
        return "Il manque un paramètre."
    if param.param_type_name != "option":
        return f"Il manque l'argument « {_name(param)} »."
    choices = _choices(param)
    among = f" (au choix : {_one_of(choices)})" if choices else ""
    return f"Il manque l'option {_name(param)}{among}."


def _bad_value(error: Any) -> str:
    param, cause = error.param, error.__cause__
    value = None
    if isinstance(cause, ValidationError):
        problems = cause.errors()
        value = problems[0].get("input") if problems else None
        reason = " ; ".join(french_message(problem) for problem in problems)
    else:
        reason = error.message
    if param is not None and _choices(param):
        reason = f"attendu : {_one_of(_choices(param))}"
    given = f" « {value} »" if isinstance(value, str) else ""
    if param is None:
        return f"Valeur{given} invalide : {reason}."
    kind = "l'option" if param.param_type_name == "option" else "l'argument"
    name = _name(param) if kind == "l'option" else f"« {_name(param)} »"
    return f"Valeur{given} invalide pour {kind} {name} : {reason}."


def _option_usage(option: str, message: str) -> str:
    if re.search(r"requires an argument", message):
        return f"L'option {option} attend une valeur."
    if wanted := re.search(r"requires (\d+) arguments", message):
        return f"L'option {option} attend {wanted.group(1)} valeurs."
    if re.search(r"does not take a value", message):
        return f"L'option {option} ne prend pas de valeur."
    return f"L'option {option} est mal employée."


def _bare(error: Any) -> str:
    """The bare ``UsageError`` Click raises with only an English sentence."""
    message = error.format_message()
    if unknown := re.match(r"No such command ('.*'|\".*\")\.( |$)", message):
        name = unknown.group(1)[1:-1]  # as repr() quoted it
        context = getattr(error, "ctx", None)
        known = context.command.list_commands(context) if context is not None else []
        return f"Commande inconnue : « {name} ».{_did_you_mean(get_close_matches(name, known))}"
    if extra := re.match(r"Got unexpected extra arguments?(?:\(s\))? \((.*)\)", message):
        words = extra.group(1).split()
        quoted = ", ".join(f"« {word} »" for word in words)
        return f"Argument{'s' if len(words) > 1 else ''} en trop : {quoted}."
    if message.startswith("Missing command"):
        return "Il manque la commande."
    return f"Commande mal formée ({message})."


def _name(param: Any) -> str:
    if param.param_type_name == "option":
        return " / ".join(param.opts)
    return param.metavar or param.name


def _choices(param: Any) -> list[str]:
    descriptor = getattr(param, "type_descriptor", None)  # Typer's own Click
    choices = (
        getattr(descriptor, "choices", None)
        or getattr(getattr(param, "type", None), "choices", None)
        or ()
    )
    return [str(getattr(choice, "value", choice)) for choice in choices]


def _one_of(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} ou {items[-1]}"


def _did_you_mean(suggestions: Sequence[str] | None) -> str:
    if not suggestions:
        return ""
    return f" Vouliez-vous dire : {', '.join(f'« {s} »' for s in sorted(suggestions))} ?"
