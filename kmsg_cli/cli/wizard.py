"""The questions of `kmsg config init` (on a terminal) and `kmsg config add-provider`.

Everything asks through a small `Prompter` so that tests can script the answers; the real one
(`RichPrompter`) wraps rich.prompt. Nothing here decides whether to prompt: the commands only
build a prompter when stdin and stdout are terminals and --json is not given (`interactive`).
Secrets typed by the user are read with a hidden prompt and never printed back.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kmsg_cli import config as cfg
from kmsg_cli.errors import ConfigError, InvalidInput, KmsgError, UsageError
from kmsg_cli.providers.catalog import PROVIDERS

if TYPE_CHECKING:
    from rich.console import Console

NAME = re.compile(r"[A-Za-z0-9_-]+")

# Credentials asked for per provider type, from the provider registry: (setting, required).
# iwinv needs api_key (AlimTalk) and/or sms_api_key + sms_auth_key (SMS); which ones is asked
# first (`IWINV_USES`: every credential, or one of its credential sets).
CREDENTIALS: Mapping[str, tuple[tuple[str, bool], ...]] = {
    kind: entry.credentials() for kind, entry in PROVIDERS.items()
}
IWINV_USES: Mapping[str, tuple[str, ...]] = {
    "both": tuple(key for key, _ in CREDENTIALS["iwinv"]),
    **{group.name: group.keys + group.extra for group in PROVIDERS["iwinv"].any_of},
}
_IWINV_SMS_PAIR = next(group.keys for group in PROVIDERS["iwinv"].any_of if group.name == "sms")
# The keys that choose iwinv's APIs (not sms_company_id, an optional id): given any of them,
# the user has said which API they want, and only an incomplete SMS pair is completed.
_IWINV_CHOOSING = tuple(key for group in PROVIDERS["iwinv"].any_of for key in group.keys)
_DESCRIPTIONS = {
    key: setting.about
    for entry in PROVIDERS.values()
    for key, setting in entry.settings.items()
    if setting.credential
}


# ------------------------------------------------------------------------------- prompting


class Prompter(Protocol):
    """How the wizard talks to a person. Every method may raise KeyboardInterrupt/EOFError."""

    def ask(self, question: str, *, default: str | None = None) -> str:
        """A line of text; the default when the answer is blank."""
        ...

    def secret(self, question: str) -> str:
        """A line of text typed without echo."""
        ...

    def confirm(self, question: str, *, default: bool) -> bool: ...

    def choose(self, question: str, choices: Sequence[str], *, default: str) -> str:
        """One of `choices` (asked again until it is one)."""
        ...

    def say(self, message: str) -> None:
        """One line for the person, e.g. why an answer was refused."""
        ...


class RichPrompter:
    """The terminal `Prompter`: rich.prompt with the defaults and choices shown."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def ask(self, question: str, *, default: str | None = None) -> str:
        from rich.markup import escape
        from rich.prompt import Prompt

        if default is None:
            return Prompt.ask(escape(question), console=self.console)
        return Prompt.ask(escape(question), console=self.console, default=default)

    def secret(self, question: str) -> str:
        from rich.markup import escape
        from rich.prompt import Prompt

        return Prompt.ask(escape(question), console=self.console, password=True)

    def confirm(self, question: str, *, default: bool) -> bool:
        from rich.markup import escape
        from rich.prompt import Confirm

        return Confirm.ask(escape(question), console=self.console, default=default)

    def choose(self, question: str, choices: Sequence[str], *, default: str) -> str:
        from rich.markup import escape
        from rich.prompt import Prompt

        return Prompt.ask(
            escape(question), console=self.console, choices=list(choices), default=default
        )

    def say(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False)


def interactive(json_mode: bool) -> bool:
    """Prompting is allowed: stdin and stdout are terminals and --json was not given."""
    if json_mode:
        return False
    streams = (sys.stdin, sys.stdout)
    return all(stream is not None and stream.isatty() for stream in streams)


def make_prompter(console: Console) -> Prompter:
    """The prompter the commands use (tests replace this function with a scripted one)."""
    return RichPrompter(console)


def _ask_valid(
    prompter: Prompter, question: str, check: Callable[[str], str], default: str | None = None
) -> str:
    """Ask until `check` accepts the answer; `check` returns the value or raises KmsgError."""
    while True:
        answer = prompter.ask(question, default=default).strip()
        try:
            return check(answer)
        except KmsgError as error:
            prompter.say(f"invalid: {error.message}")


# --------------------------------------------------------------------------------- answers


@dataclass
class ProviderDraft:
    """One provider table being built: TOML values (`type` first), secrets possibly literal."""

    provider_id: str
    type: str
    values: dict[str, Any] = field(default_factory=dict)
    literal_secrets: list[str] = field(default_factory=list)

    def ordered(self) -> dict[str, Any]:
        """The values in file order: type, credentials, sender, then the rest as given."""
        first = ["type", *(key for key, _ in CREDENTIALS[self.type]), "sender"]
        rank = {key: index for index, key in enumerate(first)}
        keys = sorted(self.values, key=lambda key: rank.get(key, len(rank)))
        return {key: self.values[key] for key in keys}

    def env_names(self) -> list[str]:
        """The variables the table references, in table order."""
        names = (cfg.env_reference(value) for value in self.values.values())
        return [name for name in names if name is not None]

    def shown(self) -> dict[str, Any]:
        """The values as they may be printed: plaintext secrets masked."""
        return {
            key: cfg.MASK if key in self.literal_secrets or _plain_secret(key, value) else value
            for key, value in self.ordered().items()
        }


def _plain_secret(key: str, value: Any) -> bool:
    return cfg.is_secret_key(key) and cfg.env_reference(value) is None


@dataclass
class InitPlan:
    """What the init wizard decided to write."""

    profile: str
    provider: ProviderDraft


def check_name(answer: str, what: str = "profile name") -> str:
    if not NAME.fullmatch(answer):
        raise InvalidInput(
            f"{what} {answer!r} may only contain letters, digits, '_' and '-'",
            field=what.replace(" ", "_"),
            value=answer,
        )
    return answer


def check_env_name(answer: str) -> str:
    if not cfg.is_env_name(answer):
        raise InvalidInput(
            f"{answer!r} is not a variable name (letters, digits and _, not starting with a digit)",
            field="env",
            value=answer,
        )
    return answer


def check_sender(answer: str) -> str:
    """A normalized sender number, `env:NAME`, or "" for none."""
    from kmsg_cli.normalize import normalize_sender

    if not answer or cfg.env_reference(answer) is not None:
        return answer
    return normalize_sender(answer, field="sender")


def default_env_name(kind: str, provider_id: str, key: str) -> str:
    """`SOLAPI_API_KEY` for provider `solapi`; `SOLAPI_BACKUP_API_KEY` for id `backup`."""
    prefix = re.sub(r"[^A-Za-z0-9]", "_", provider_id).upper()
    if provider_id != kind and not prefix.startswith(kind.upper()):
        prefix = f"{kind.upper()}_{prefix}"
    return f"{prefix}_{key.upper()}"


def ask_profile_name(prompter: Prompter, default: str = "default") -> str:
    return _ask_valid(prompter, "Profile name", check_name, default)


def ask_provider_type(prompter: Prompter) -> str:
    return prompter.choose("Provider", cfg.PROVIDER_TYPES, default=cfg.PROVIDER_TYPES[0])


def ask_credential(prompter: Prompter, draft: ProviderDraft, key: str, *, required: bool) -> None:
    """Ask how to give one credential: an env: reference (default), a literal, or skip it."""
    what = f"{draft.type} {_DESCRIPTIONS.get(key, key)} ({key})"
    choices = ["env", "literal"] if required else ["env", "literal", "skip"]
    how = prompter.choose(f"{what}: read it from", choices, default="env")
    if how == "skip":
        return
    if how == "env":
        default = default_env_name(draft.type, draft.provider_id, key)
        name = _ask_valid(prompter, f"Environment variable for {key}", check_env_name, default)
        draft.values[key] = f"env:{name}"
        return
    secret = cfg.is_secret_key(key)
    while True:
        value = (prompter.secret if secret else prompter.ask)(f"Value of {key}").strip()
        if value and not value.startswith("env:"):
            break
        prompter.say("invalid: type the value itself (or choose env)")
    draft.values[key] = value
    if secret:
        draft.literal_secrets.append(key)
        prompter.say(f"{key} will be stored in plain text; env: references are safer")


def ask_credentials(prompter: Prompter, draft: ProviderDraft) -> None:
    """Ask for every credential of the type that `draft.values` does not hold yet."""
    keys = [(key, required) for key, required in CREDENTIALS[draft.type]]
    if draft.type == "iwinv":
        if not any(key in draft.values for key in _IWINV_CHOOSING):
            use = prompter.choose("Send with iwinv", list(IWINV_USES), default="both")
            wanted = IWINV_USES[use]
        elif len([key for key in _IWINV_SMS_PAIR if key in draft.values]) == 1:
            wanted = _IWINV_SMS_PAIR  # complete the pair
        else:
            wanted = ()
        # with only one kind of key the pair (or api_key) is required, not optional
        keys = [(key, key != "sms_company_id") for key in wanted]
    for key, required in keys:
        if key not in draft.values:
            ask_credential(prompter, draft, key, required=required)


def ask_sender(prompter: Prompter, draft: ProviderDraft) -> None:
    if "sender" in draft.values:
        return
    question = "Default sender number (registered with the vendor; blank for none)"
    sender = _ask_valid(prompter, question, check_sender)
    if sender:
        draft.values["sender"] = sender


def run_init_wizard(prompter: Prompter, *, default_profile: str = "default") -> InitPlan:
    """Ask every question of `kmsg config init`; nothing is written here."""
    profile = ask_profile_name(prompter, default_profile)
    kind = ask_provider_type(prompter)
    draft = ProviderDraft(kind, kind, {"type": kind})
    ask_credentials(prompter, draft)
    ask_sender(prompter, draft)
    return InitPlan(profile, draft)


def write_init_plan(path: Path, plan: InitPlan, *, force: bool) -> Path:
    """Write the wizard's config (mode 0600 from the first byte); CONFIG_EXISTS unless forced."""
    provider = plan.provider
    text = cfg.new_config_text(plan.profile, provider.provider_id, provider.ordered())
    return cfg.write_config_file(path, text, force=force)


def unset_variables(names: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """The names (in order, once each) whose variable is not set or blank."""
    return [n for n in dict.fromkeys(names) if not environ.get(n, "").strip()]


# ---------------------------------------------------------------------------- add-provider


def target_profile(
    loaded: cfg.LoadedConfig, flag: str | None, environ: Mapping[str, str]
) -> tuple[str, str]:
    """(profile name, chosen by) for add-provider: --profile > KMSG_PROFILE > default_profile >
    sandbox. Environment-only mode (KMSG_PROVIDER) has no file, so it does not count here."""
    if flag is not None and flag.strip():
        return flag.strip(), "--profile"
    if from_env := environ.get("KMSG_PROFILE", "").strip():
        return from_env, "KMSG_PROFILE"
    if loaded.default_profile is not None:
        return loaded.default_profile, "default_profile"
    return cfg.SANDBOX, "builtin"


def parse_set_options(kind: str, pairs: Sequence[str], key_path: str) -> dict[str, Any]:
    """`--set KEY=VALUE` options as TOML values; unknown keys and bad values are errors."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            # The token may hold a secret typed with ':' or ' ' instead of '=': show only the
            # leading name-like characters.
            token = pair.strip()
            name = re.match(r"[A-Za-z0-9_]*", token)
            lead = name.group(0) if name else ""
            if not lead:
                shown = "with an empty KEY"
            else:
                shown = f"'{lead}'" if lead == token else f"'{lead}…'"
            raise UsageError(
                f"--set {shown} is not KEY=VALUE",
                field="set",
                value=None,
                hint="e.g. --set sender=0212345678 --set api_key=env:SOLAPI_API_KEY",
            )
        if key in values:
            raise UsageError(f"--set {key} is given twice", field="set", value=key)
        if not raw:
            raise UsageError(f"--set {key} has an empty value", field="set", value=key)
        value = cfg.provider_setting_value(kind, key, raw, key_path)
        if key == "sender":
            value = check_sender(value)
        values[key] = value
    return values


def default_credentials(draft: ProviderDraft) -> None:
    """Without a terminal: every credential not given becomes its conventional env: reference."""
    keys = [key for key, _ in CREDENTIALS[draft.type]]
    if draft.type == "iwinv" and any(key in draft.values for key in _IWINV_CHOOSING):
        # Some iwinv keys were given: only complete the SMS pair, add nothing the user left out.
        keys = list(_IWINV_SMS_PAIR) if any(k in draft.values for k in _IWINV_SMS_PAIR) else []
    for key in keys:
        if key not in draft.values:
            draft.values[key] = f"env:{default_env_name(draft.type, draft.provider_id, key)}"


def new_provider(
    kind: str, provider_id: str | None, pairs: Sequence[str], profile: str
) -> ProviderDraft:
    """Check TYPE, --id and --set; the draft holds `type` and the --set values."""
    if kind not in cfg.PROVIDER_TYPES:
        raise UsageError(
            f"TYPE {kind!r} is not a provider type",
            code="UNKNOWN_PROVIDER_TYPE",
            field="type",
            value=kind,
            hint=f"allowed: {', '.join(cfg.PROVIDER_TYPES)}",
        )
    pid = check_name(provider_id, "provider id") if provider_id is not None else kind
    values = parse_set_options(kind, pairs, cfg.provider_key_path(profile, pid))
    draft = ProviderDraft(pid, kind, {"type": kind, **values})
    draft.literal_secrets = [k for k, v in values.items() if _plain_secret(k, v)]
    return draft


def check_new_provider(loaded: cfg.LoadedConfig, profile: str, provider_id: str) -> bool:
    """Refuse an id the profile already has; True when the profile is new to the file."""
    profiles = loaded.data.get("profiles", {})
    table = profiles.get(profile) if isinstance(profiles, Mapping) else None
    if table is None:
        return True
    providers = table.get("providers", {}) if isinstance(table, Mapping) else {}
    if isinstance(providers, Mapping) and provider_id in providers:
        raise ConfigError(
            f"profile '{profile}' already has a provider '{provider_id}' in {loaded.path}",
            code="PROVIDER_EXISTS",
            field=cfg.provider_key_path(profile, provider_id),
            value=provider_id,
            hint=f"choose another id with --id, or edit the file: {loaded.path}",
        )
    return False


def append_provider(
    loaded: cfg.LoadedConfig, profile: str, draft: ProviderDraft, environ: Mapping[str, str]
) -> cfg.LoadedConfig:
    """Add the table at the end of the file (comments and layout kept), reload and validate it.

    When the file no longer loads, or the new table brings an error of its own (checked as if
    the variables it references were exported), the file is put back as it was and the error
    raised.
    """
    from kmsg_cli.config.editing import write_checked

    text = loaded.path.read_text(encoding="utf-8")
    separator = "" if not text else "\n" if text.endswith("\n") else "\n\n"
    table = cfg.provider_table_text(profile, draft.provider_id, draft.ordered())
    try:
        return write_checked(
            loaded,
            text + separator + table,
            environ,
            field=cfg.provider_key_path(profile, draft.provider_id),
            what="the new table",
        )
    except ConfigError as error:
        if error.code != "AMBIGUOUS_PROVIDER":
            raise
        hint = (
            f"{error.hint}; add it under another id (--id {draft.provider_id}-{profile}), or "
            f"give profile '{profile}' a db of its own first"
        )
        raise ConfigError(error.message, code=error.code, field=error.field, hint=hint) from None
