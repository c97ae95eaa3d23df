"""The composition root: global options -> config, profile, store and provider clients.

Commands ask the runtime for what they need; everything is built lazily and closed once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kmsg_cli.cli.output import Output

if TYPE_CHECKING:
    from kmsg_cli import config as cfg
    from kmsg_cli.clients import ProviderClients
    from kmsg_cli.store.contract import Store
    from kmsg_cli.when import TimeView


# Plain classes, not dataclasses: every command makes one of each, and a dataclass costs more
# to define than these whole classes take to run.
class GlobalOptions:
    """The global options of the command line (`kmsg --help`)."""

    def __init__(
        self,
        profile: str | None = None,
        config: str | None = None,
        db: str | None = None,
        json: bool = False,
        verbose: int = 0,
        quiet: bool = False,
    ) -> None:
        self.profile = profile
        self.config = config
        self.db = db
        self.json = json
        self.verbose = verbose
        self.quiet = quiet


class Runtime:
    """What one invocation builds from its global options, each part on first use."""

    def __init__(self, options: GlobalOptions, environ: Mapping[str, str] | None = None) -> None:
        self.options = options
        self.environ: Mapping[str, str] = dict(os.environ) if environ is None else environ
        self._out: Output | None = None
        self._config: cfg.LoadedConfig | None = None
        self._profile: cfg.Profile | None = None
        self._store: Store | None = None
        self._clients: ProviderClients | None = None
        self._warned_permissions = False
        self.store_created = False  # the database was empty before this invocation

    @property
    def out(self) -> Output:
        if self._out is None:
            self._out = Output(
                json_mode=self.options.json,
                quiet=self.options.quiet,
                verbose=self.options.verbose,
            )
            self._out.command = self._command
        return self._out

    def config(self) -> cfg.LoadedConfig:
        if self._config is None:
            from kmsg_cli import config as cfg

            path, source = cfg.resolve_config_path(self.options.config, self.environ)
            self._config = cfg.load_config(path, source)
            warning = cfg.insecure_permissions_warning(self._config)
            if warning and not self._warned_permissions:
                self._warned_permissions = True
                self.out.warning("INSECURE_PERMISSIONS", warning)
        return self._config

    def profile(self) -> cfg.Profile:
        if self._profile is None:
            from kmsg_cli import config as cfg

            self._profile = cfg.select_profile(
                self.config(), flag=self.options.profile, environ=self.environ
            )
        return self._profile

    def _command(self) -> str:
        """How a suggested command starts: `kmsg -p NAME` when --profile chose a profile that
        a plain `kmsg` would not pick in this environment, else `kmsg`."""
        import shlex

        from kmsg_cli import config as cfg
        from kmsg_cli.errors import KmsgError

        if not self.options.profile:
            return "kmsg"
        name = self.profile().name
        try:
            plain = cfg.select_profile(self.config(), flag=None, environ=self.environ).name
        except KmsgError:
            plain = None
        return "kmsg" if plain == name else f"kmsg -p {shlex.quote(name)}"

    def db_target(self) -> str:
        """--db > KMSG_DB > the profile's db > the default SQLite file."""
        return self.db_choice()[0]

    def db_choice(self) -> tuple[str, str]:
        """The database (`db_target`) and what chose it: `--db`, `KMSG_DB`, `profile` or
        `default`."""
        if self.options.db is not None:  # `--db ""` is an error, not "use the default"
            return self.options.db, "--db"
        if self.environ.get("KMSG_DB"):
            return self.environ["KMSG_DB"], "KMSG_DB"
        profile_db = self.profile().db
        if profile_db:
            return profile_db, "profile"
        from kmsg_cli.config import default_db_path

        return str(default_db_path()), "default"

    def store(self) -> Store:
        if self._store is None:
            from kmsg_cli.store import open_store, prepare

            # Enough pooled connections (PostgreSQL) for the widest --concurrency (256) is too
            # many; 64 covers the commands' worker threads and is opened lazily.
            store = open_store(self.db_target(), pool_size=64)
            try:
                self.store_created = store.schema_version() == 0
                prepare(store)
            except BaseException:
                store.close()
                raise
            self._store = store
        return self._store

    def existing_store(self) -> Store | None:
        """The store when its database already exists (a dry run reads it), else None:
        nothing is created for a look that writes nothing."""
        if self._store is not None:
            return self._store
        from kmsg_cli.store import sqlite_file

        path = sqlite_file(self.db_target())
        if path is not None and (path == ":memory:" or not os.path.isfile(path)):
            return None
        return self.store()

    def warn_if_new_database(self, what: str) -> None:
        """Ids (`--id`, `--id-column`, `--batch-id`) prevent repeats only within one database:
        say so when this invocation has just created it (a CI runner without a kept one)."""
        if self.store_created:
            self.out.warning(
                "NEW_DATABASE",
                f"{what} is checked against this database only, and it was created just now: "
                "sends from other machines or earlier runs cannot be seen; keep the database "
                "between runs (README: Sending from CI)",
            )

    def clients(self) -> ProviderClients:
        if self._clients is None:
            from kmsg_cli.clients import ProviderClients, StoreCache

            # providers' tokens live in the database, shared by every process using it
            self._clients = ProviderClients(self.profile(), self.environ, StoreCache(self.store))
        return self._clients

    def provider_ids(self, provider: str | None) -> list[str]:
        """The providers a command works on: `--provider`'s, which must be one of the
        profile's (UNKNOWN_PROVIDER), else every provider of the profile."""
        profile = self.profile()
        known = list(profile.providers)
        if provider is None:
            return known
        if provider not in profile.providers:
            from kmsg_cli.errors import InvalidInput

            raise InvalidInput(
                f"--provider '{provider}' is not a provider of profile '{profile.name}'",
                code="UNKNOWN_PROVIDER",
                field="provider",
                value=provider,
                hint=f"providers: {', '.join(known) or 'none'} (kmsg providers list)",
            )
        return [provider]

    def listing_scope(self, provider: str | None, all_profiles: bool) -> list[str] | None:
        """The providers a listing keeps to: the profile's, as `kmsg report` and the workers
        do, unless `--provider` names one (whatever the profile) or `--all-profiles`; None:
        every provider (docs/cli.md, "Listings")."""
        if provider is not None or all_profiles:
            return None
        return list(self.profile().providers)

    def not_listed(
        self, count: int, noun: str, verbs: tuple[str, str] = ("listed", "lists")
    ) -> str:
        """The line under a listing (or counts, or a retry: `verbs`) that left out `count` rows
        of other profiles' providers."""
        from kmsg_cli.cli.output import counted

        verb = "is" if count == 1 else "are"
        left, takes = verbs
        return (
            f"{counted(count, noun)} of providers that profile '{self.profile().name}' does not "
            f"have {verb} not {left} (--all-profiles {takes} them)"
        )

    def left_for_others(self, others: Mapping[str, int], noun: str, command: str) -> str:
        """The line for work a command left because its providers are not in this profile
        (profiles sharing a database): how much, of which providers, and, when one profile
        has them, the command to run with it (docs/storage.md, "Claims")."""
        from kmsg_cli.cli.output import counted
        from kmsg_cli.config import profiles_with

        lines = []
        named = {provider: n for provider, n in others.items() if provider}
        if named:
            listed = ", ".join(f"{provider} {n:,}" for provider, n in named.items())
            line = (
                f"{counted(sum(named.values()), noun)} of providers that profile "
                f"'{self.profile().name}' does not have ({listed}) left for their own profile"
            )
            homes = sorted({name for p in named for name in profiles_with(self.config(), p)})
            lines.append(line + (f": kmsg -p {homes[0]} {command}" if len(homes) == 1 else ""))
        if unnamed := sum(n for provider, n in others.items() if not provider):
            # a job whose data names no provider: hand-edited, or not JSON at all
            one = unnamed == 1
            lines.append(
                f"{counted(unnamed, noun)} that {'names' if one else 'name'} no provider (data "
                f"edited by hand?) left as {'it is' if one else 'they are'}: kmsg db check "
                f"names {'it' if one else 'them'}"
            )
        return "\n".join(lines)

    def refuse_ambiguous_providers(self) -> None:
        """CONFIG error (exit 2) when another profile on this database has a provider of the
        same id as one of this profile's, set to another account or sender: this command would
        take that profile's jobs or messages for its own (docs/storage.md, "Claims"). With --db
        or KMSG_DB every profile of this run shares the one database."""
        from kmsg_cli import config as cfg
        from kmsg_cli.errors import ConfigError

        profile = self.profile()
        overridden = self.options.db is not None or bool(self.environ.get("KMSG_DB"))
        database = self.db_target() if overridden else None
        clashes = cfg.ambiguous_providers(self.config(), profile, database)
        if not clashes:
            return
        provider_id, other = clashes[0]
        raise ConfigError(
            f"profiles '{profile.name}' and '{other}' both have a provider '{provider_id}', "
            "set differently, and use the same database: kmsg cannot tell their jobs and "
            "messages apart",
            code="AMBIGUOUS_PROVIDER",
            field="provider",
            value=provider_id,
            hint=(
                f"give one of them another provider id (rename [profiles.{other}.providers."
                f'{provider_id}]) or its own database (db = "..." in [profiles.{other}])'
            ),
        )

    def times(self) -> TimeView:
        """How this invocation shows times: in the profile's `timezone` (KST by default)."""
        from kmsg_cli.when import TimeView

        return TimeView(self.profile().timezone)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def moment_ms(self, value: str | None, field: str) -> int | None:
        """`--since 24h` (that long ago), a bare date or a date-time (in the profile's zone),
        in epoch milliseconds; None when not given."""
        if value is None:
            return None
        from kmsg_cli.models import epoch_ms
        from kmsg_cli.when import parse_moment

        moment = parse_moment(value, now=self.now(), timezone=self.profile().timezone, field=field)
        return epoch_ms(moment)

    def close(self) -> None:
        if self._clients is not None:
            self._clients.close()
            self._clients = None
        if self._store is not None:
            self._store.close()
            self._store = None
