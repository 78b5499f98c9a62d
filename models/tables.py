"""SQLAlchemy 2.0 tables. Generic types only, so the same schema runs on SQLite and PostgreSQL.

Schema changes go through Alembic (migrations/); tests/test_migrations.py fails when these
tables and the migrations disagree.
"""
from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    false as sa_false,
    text,
    true as sa_true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from models.kinds import RoleKind
from models.numbers import FIGURE_PLACES, fits_figure, normalize
from models.schedule import DEFAULT_TIMES

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal stored as text: SQLite has no exact numeric type, and figures must come
    back exactly as they were sent (72,5 stays 72.5, never 72.49999)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return format(Decimal(value), "f")

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class FigureNumber(TypeDecorator[Decimal]):
    """A unit's figure, exact and summable by the database: NUMERIC(18, 6) on PostgreSQL; on
    SQLite, which has no exact decimal type, the figure times 10^6 as a 64-bit integer (72,5 is
    72500000), so SUM and ORDER BY work on it exactly. Both hold 12 digits before the decimal mark
    and 6 after (models.numbers.fits_figure); anything else is refused on write, never rounded.
    Read back normalised, exactly as typed: 72,5 -> Decimal('72.5')."""

    impl = Numeric(18, FIGURE_PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, FIGURE_PLACES, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Any) -> Decimal | int | None:
        if value is None:
            return None
        number = Decimal(value)
        if not fits_figure(number):
            raise ValueError(f"figure {number} does not fit NUMERIC(18, {FIGURE_PLACES})")
        return int(number.scaleb(FIGURE_PLACES)) if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return normalize(Decimal(value).scaleb(-FIGURE_PLACES))
        return normalize(Decimal(value))


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant, stored in UTC; SQLite drops the zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class StrEnumText(TypeDecorator[enum.StrEnum]):
    """A `StrEnum` stored as its plain string, as the column held before (no database enum type,
    so a new member needs no migration); read back as the member, and refused on write when it
    names none."""

    impl = String
    cache_ok = True

    def __init__(self, kinds: type[enum.StrEnum], length: int) -> None:
        super().__init__(length)
        self.kinds = kinds

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.kinds(value).value

    def process_result_value(self, value: Any, dialect: Any) -> enum.StrEnum | None:
        return None if value is None else self.kinds(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        Decimal: DecimalText,
        date: Date,
        time: Time,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


# --- plans ---------------------------------------------------------------------------------


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(Text)
    year: Mapped[int]
    issuer: Mapped[str | None] = mapped_column(Text)
    document: Mapped[str | None] = mapped_column(String(120))
    issued_on: Mapped[date | None]
    source: Mapped[str | None] = mapped_column(Text)
    salutation: Mapped[str | None] = mapped_column(String(40))
    # Percent of the units expected that must have a figure before a plan-wide verdict (None: 80).
    coverage_threshold: Mapped[int | None]
    tracking_unit_code: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    # The first month the bot collects ("2025-04"); no one owes a period that ended before it.
    collect_from: Mapped[str | None] = mapped_column(String(8))
    tables: Mapped[list[Any]] = mapped_column(default=list)  # [{code, title}]
    groups: Mapped[list[Any]] = mapped_column(default=list)  # [{code, title, table}]
    file_digest: Mapped[str | None] = mapped_column(String(64))  # of the last imported file
    imported_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # Issue 16: a practice copy (models/practice.py) names its live plan; the scheduler skips it.
    # No foreign key: adding one would make SQLite rebuild this table (see migration 0014).
    practice_of_id: Mapped[int | None]


class ScheduleRule(Base):
    """One plan's deadline and prompt rules for one frequency."""

    __tablename__ = "schedule_rules"
    __table_args__ = (UniqueConstraint("plan_id", "frequency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    frequency: Mapped[str] = mapped_column(String(16))
    deadline_day: Mapped[int]
    deadline_month: Mapped[str] = mapped_column(String(8))  # "last", "next" or "1".."12"
    deadline_before: Mapped[bool] = mapped_column(Boolean, default=False)
    # Defaults on the Python side only (models/schedule.py), so the schema is unchanged.
    prompt_days_before: Mapped[int] = mapped_column(default=DEFAULT_TIMES.prompt_days_before)
    prompt_time: Mapped[time] = mapped_column(default=DEFAULT_TIMES.prompt_time)
    reminder_time: Mapped[time] = mapped_column(default=DEFAULT_TIMES.reminder_time)
    overdue_time: Mapped[time] = mapped_column(default=DEFAULT_TIMES.overdue_time)
    escalate_after_days: Mapped[int] = mapped_column(default=DEFAULT_TIMES.escalate_after_days)
    summary_time: Mapped[time] = mapped_column(default=DEFAULT_TIMES.summary_time)
    quiet_start: Mapped[time] = mapped_column(default=DEFAULT_TIMES.quiet_start)
    quiet_end: Mapped[time] = mapped_column(default=DEFAULT_TIMES.quiet_end)
    source: Mapped[str | None] = mapped_column(Text)


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    named_in_plan: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_on: Mapped[date | None]
    deactivation_reason: Mapped[str | None] = mapped_column(String(16))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    in_file: Mapped[bool] = mapped_column(Boolean, default=True)  # false once dropped from the plan file


class Indicator(Base):
    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(24))
    number: Mapped[str] = mapped_column(String(24))
    position: Mapped[int]  # order in the plan's tables
    table_code: Mapped[str | None] = mapped_column(String(32))
    group_code: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    lead: Mapped[str | None] = mapped_column(Text)
    coordinating: Mapped[str | None] = mapped_column(Text)
    tracking: Mapped[str | None] = mapped_column(Text)
    province_target: Mapped[str | None] = mapped_column(Text)
    target_raw: Mapped[str] = mapped_column(Text)
    baseline_raw: Mapped[str | None] = mapped_column(Text)
    baseline: Mapped[Decimal | None]
    level_raw: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(String(16))
    frequency: Mapped[str] = mapped_column(String(16))
    accumulation: Mapped[str] = mapped_column(String(16))
    formula: Mapped[str | None] = mapped_column(Text)
    basis: Mapped[str | None] = mapped_column(Text)
    reporters_reason: Mapped[str | None] = mapped_column(Text)
    target_source: Mapped[str | None] = mapped_column(Text)  # where the chosen target is stated
    # Other statements of a part's target in the document, for the tracking office to settle:
    # [{part, source, target (raw), chosen_source, chosen_target (raw), rule}]
    conflicts: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The plan's `evidence: required` (issue 17): a figure counts as received, but the tracking
    # office cannot approve it until a file proves it.
    evidence_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    parts: Mapped[list[IndicatorPart]] = relationship(
        back_populates="indicator", order_by="IndicatorPart.position", lazy="selectin"
    )


class IndicatorPart(Base):
    """One measurable part of an indicator; a simple indicator has exactly one."""

    __tablename__ = "indicator_parts"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(24))
    position: Mapped[int]
    label: Mapped[str | None] = mapped_column(Text)
    target_raw: Mapped[str] = mapped_column(Text)
    measure: Mapped[str] = mapped_column(String(16))
    comparison: Mapped[str] = mapped_column(String(16))
    value: Mapped[Decimal | None]
    low: Mapped[Decimal | None]
    high: Mapped[Decimal | None]
    unit_label: Mapped[str | None] = mapped_column(Text)
    due: Mapped[date | None]
    numerator_label: Mapped[str | None] = mapped_column(Text)
    denominator_label: Mapped[str | None] = mapped_column(Text)
    applies_to: Mapped[list[Any]] = mapped_column(default=list)
    condition: Mapped[str | None] = mapped_column(Text)  # "sau khi …": what the target waits for
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # False where the plan file forbids "không phát sinh" for this part.
    allow_not_applicable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    indicator: Mapped[Indicator] = relationship(back_populates="parts")


class Assignment(Base):
    """Unit U reports part P."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("part_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("indicator_parts.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # "derived" or "override"
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# --- people --------------------------------------------------------------------------------


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(8))  # None: the deployment's BOT_LOCALE
    created_at: Mapped[datetime]
    unreachable_at: Mapped[datetime | None]
    unreachable_reason: Mapped[str | None] = mapped_column(Text)
    # The plan chosen (/kehoach) or last registered for, when the person has roles in several.
    current_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))
    # Issue 14: a person on several messengers (/lienket) gets scheduled messages on the channel
    # chosen with /kenh, else on the one they wrote from last.
    prompt_channel: Mapped[str | None] = mapped_column(String(16))
    last_channel: Mapped[str | None] = mapped_column(String(16))
    # Issue 16: when the person last wrote to the bot (to the hour: `people` and /canbo show it).
    last_seen_at: Mapped[datetime | None]


class Identity(Base):
    """A person's account on one channel."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # telegram | zalo | console
    external_id: Mapped[str] = mapped_column(String(64))  # user id on that channel; chat id for private chats
    chat_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Role(Base):
    """A person's role, with history: ended roles keep their ended_at."""

    __tablename__ = "roles"
    __table_args__ = (
        # Exactly one active focal officer per unit: enforced by the database, not only the code.
        Index(
            "uq_roles_active_officer", "unit_id", unique=True,
            sqlite_where=text(f"role = '{RoleKind.OFFICER}' AND ended_at IS NULL"),
            postgresql_where=text(f"role = '{RoleKind.OFFICER}' AND ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))  # None: every plan
    role: Mapped[RoleKind] = mapped_column(StrEnumText(RoleKind, 16))  # any but GROUP: RoleKind.held()
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(32))
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invites.id", ondelete="SET NULL"))


class Invite(Base):
    """A single-use, expiring invite; only the code's hash is stored."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    role: Mapped[RoleKind] = mapped_column(StrEnumText(RoleKind, 16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # True: code_hash is an HMAC with the server's invite key; False: a plain SHA-256 (issued
    # before keyed hashes, accepted until it expires).
    keyed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class RosterEntry(Base):
    """Who a unit's officer (or a plan's leader) should be, from a roster file (`import-people`):
    the invite greets them by name, and who is on board shows those not registered yet."""

    __tablename__ = "roster_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    role: Mapped[RoleKind] = mapped_column(StrEnumText(RoleKind, 16))
    full_name: Mapped[str] = mapped_column(Text)
    position: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    imported_at: Mapped[datetime]


class GroupBinding(Base):
    """A plan's steering-committee group chat on one channel."""

    __tablename__ = "group_bindings"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    bound_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


# --- figures -------------------------------------------------------------------------------


class Submission(Base):
    """One version of one unit's figure for one part and period. Append-only: a correction is a
    new row with the next version; the highest version is current."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("unit_id", "part_id", "period", "version"),
        Index("ix_submissions_part_period_unit", "part_id", "period", "unit_id"),  # exact by the key too
        # The current figures of a plan's periods, what a summary adds up (migration 0017).
        Index("ix_submissions_current_figures", "plan_id", "period", "part_id",
              postgresql_where=text("is_current"), sqlite_where=text("is_current")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    part_id: Mapped[int] = mapped_column(ForeignKey("indicator_parts.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))  # "2025-03", "2025-Q1", "2025-H1", "2025"
    version: Mapped[int]
    # Exact numbers the database can add (FigureNumber); targets and baselines above stay
    # DecimalText: they are never summed, and plan documents may state them with any precision.
    value: Mapped[Decimal | None] = mapped_column(FigureNumber)
    numerator: Mapped[Decimal | None] = mapped_column(FigureNumber)
    denominator: Mapped[Decimal | None] = mapped_column(FigureNumber)
    done: Mapped[bool | None] = mapped_column(Boolean)
    # "Không phát sinh": nothing to report for this period; value, numerator, denominator and done
    # are all empty. Counted as reported, left out of roll-ups.
    not_applicable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    note: Mapped[str | None] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    message_ref: Mapped[str | None] = mapped_column(String(128))  # channel message id, for dedup
    submitted_at: Mapped[datetime]
    # The highest version of its unit, part and period. Kept by the database's triggers (migration
    # 0017) in the statement that inserts or deletes versions, whoever writes them: never set it.
    is_current: Mapped[bool] = mapped_column(Boolean, server_default=sa_true())


# --- conversation --------------------------------------------------------------------------


class ConversationState(Base):
    """Where one person is in a multi-step exchange in one chat (a guided figure, a pending
    confirmation, a question of which indicator was meant). Durable, so a restart loses nothing."""

    __tablename__ = "conversation_states"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class InviteAttempt(Base):
    """A wrong invite code, kept to throttle guessing."""

    __tablename__ = "invite_attempts"
    __table_args__ = (Index("ix_invite_attempts_sender", "channel", "external_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(index=True)  # counted across all senders too


class ServerSecret(Base):
    """A secret this deployment generated for itself (the invite key), kept in the database so
    every process of the deployment shares it."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


# --- delivery ------------------------------------------------------------------------------


class ProcessedUpdate(Base):
    """A channel update already handled; written in the same transaction as its effects, so an
    update delivered again (after a crash, a webhook retry) changes nothing."""

    __tablename__ = "processed_updates"
    __table_args__ = (UniqueConstraint("channel", "update_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_key: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime]


class IntakeEvent(Base):
    """An update taken from the messenger and not yet handled: written before the messenger is told
    it arrived (the next poll's offset), so the poll loop never waits for the handling and a crash
    loses nothing. Handled updates are recorded in processed_updates and their rows deleted."""

    __tablename__ = "intake"
    __table_args__ = (UniqueConstraint("channel", "update_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_key: Mapped[str] = mapped_column(String(64))
    event: Mapped[dict[str, Any]] = mapped_column()  # handlers.events.Event.to_payload
    received_at: Mapped[datetime]


class OutboxMessage(Base):
    """A message to send, written before it is sent: claimed, sent, marked sent. Its unique key
    makes every message (a reply, a prompt, a reminder) go out once, across restarts and across
    processes; a claim that its process never finished expires and is taken again."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "channel", "sent_at", "failed_at", "not_before"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    not_before: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    # Sends whose answer was lost (sent or not, nobody knows): retried once, never more.
    unknown_outcomes: Mapped[int] = mapped_column(default=0, server_default="0")
    # models.kinds.Urgency: what goes first when messages wait for the messenger's rate limits.
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]  # a permanent failure (blocked, chat not found)
    channel_message_id: Mapped[str | None] = mapped_column(String(64))


# --- issue 14: files served at PUBLIC_BASE_URL (Zalo takes pictures by URL only) ----------------


class PublicFile(Base):
    """A generated chart or spreadsheet served at {PUBLIC_BASE_URL}/files/{token}/{name} until it
    expires. Only the token's SHA-256 is stored, so the table alone opens no file; kept in the
    database so that every process, and the next start, serves it."""

    __tablename__ = "public_files"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LinkCode(Base):
    """A one-time code (/lienket) that, sent from another messenger, attaches that account to the
    person who asked for it. Only its SHA-256 is stored."""

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


# --- the web desk (issue 23) ---------------------------------------------------------------------


class WebLogin(Base):
    """A personal sign-in link (/web): single use, WEB_LOGIN_MINUTES; only the token's SHA-256 is
    stored."""

    __tablename__ = "web_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser: the cookie holds the token, the database its SHA-256 (every web
    process behind a proxy knows every session), and the token of its forms (CSRF)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class ApiKey(Base):
    """A key for the read-only API of one plan (`python -m bot api-key`); only its SHA-256 is
    stored, and a revoked key keeps its row (who had access until when)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
# --- issue 17: evidence files and the tracking office's review -----------------------------------


class EvidenceFile(Base):
    """One file's bytes as kept in the file store (models/file_store.py), once per SHA-256."""

    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Evidence(Base):
    """A file sent as proof of one unit's figure for one part and period: who, when, through which
    channel, under which name. Append-only; `submission_id` is the figure's version it came with
    (None: sent before the figure)."""

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_figure", "unit_id", "part_id", "period"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("evidence_files.id", ondelete="RESTRICT"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    part_id: Mapped[int] = mapped_column(ForeignKey("indicator_parts.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # "photo" | "document"
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    message_ref: Mapped[str | None] = mapped_column(String(128))
    attached_at: Mapped[datetime]


class Review(Base):
    """A tracking office's decision on one version of a figure: approved, or returned with a
    reason. Append-only: a figure's state is the latest decision on its current version; a
    correction is a new version, so it awaits review again."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_figure", "unit_id", "part_id", "period"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    part_id: Mapped[int] = mapped_column(ForeignKey("indicator_parts.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))
    decision: Mapped[str] = mapped_column(String(16))  # "approved" | "returned"
    reason: Mapped[str | None] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))  # "telegram", "zalo", "console", "cli"
    decided_at: Mapped[datetime]


class PeriodLock(Base):
    """Closing (khóa sổ) or reopening one part's period, by its tracking office. Append-only: the
    latest row says whether the period is closed."""

    __tablename__ = "period_locks"
    __table_args__ = (Index("ix_period_locks_part_period", "part_id", "period"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    part_id: Mapped[int] = mapped_column(ForeignKey("indicator_parts.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))
    closed: Mapped[bool] = mapped_column(Boolean)  # False: reopened
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class ChangeRequest(Base):
    """An officer's change to a figure of a closed period, with its reason, waiting for the
    tracking office to grant (the figure is then stored as a new version) or refuse it."""

    __tablename__ = "change_requests"
    __table_args__ = (Index("ix_change_requests_figure", "unit_id", "part_id", "period"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    part_id: Mapped[int] = mapped_column(ForeignKey("indicator_parts.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))
    figure: Mapped[dict[str, Any]]  # value / numerator / denominator / done / not_applicable, as text
    reason: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime]
    decision: Mapped[str | None] = mapped_column(String(16))  # None (open) | "granted" | "refused"
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    decided_channel: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None]
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"))
