"""The review lists sent after each deadline (issue 17): to each person of an indicator's tracking
office (and the admins), the review list of every indicator they review that has figures awaiting
review: each unit's figure, its evidence and state, and how to act on it (/duyet N). One message per
person, period and messenger, a section per indicator (the channels split a long one); the key
says so, and the outbox keeps it, so it is made once."""
from __future__ import annotations

from dataclasses import dataclass, field

from handlers.formatting import describe_figure, period_label
from handlers.review_flags import flag_lines
from locales import translator
from models import review
from models.due import Item
from models.plan_view import PartView, PlanView
from models.schedule_queries import Recipient, existing_keys
from models.session import Session
from models.submissions import figure_of
from models.tables import Submission


@dataclass
class ReviewList:
    key: str
    channel: str
    chat_id: str
    person_id: int
    name: str
    text: str
    locale: str


@dataclass
class _Reader:
    person: Recipient
    parts: list[tuple[PartView, list[review.Figure], dict[int, Submission]]] = field(default_factory=list)


async def review_messages(session: Session, default_locale: str, view: PlanView, item: Item) -> list[ReviewList]:
    readers: dict[int, _Reader] = {}
    for pv in view.parts.values():
        if pv.frequency not in item.frequencies or not view.reporters.get(pv.part.id):
            continue
        period = next(p for p in item.periods if p.frequency is pv.frequency)
        figures = await review.figures(session, [pv.part.id], period.id)
        if not any(f.state is review.ReviewState.AWAITING for f in figures):
            continue
        before = period.previous()  # each unit's figure the period before, this year: the change and the flags
        previous = {f.submission.unit_id: f.submission for f in await review.figures(session, [pv.part.id], before.id)
                    } if before.year == period.year else {}
        for person in await review.reviewers(session, view.plan.id, review.tracking_units(view, pv.indicator)):
            if not person.unreachable:
                readers.setdefault(person.person_id, _Reader(person)).parts.append((pv, figures, previous))
    wanted = [(f"{item.key}:p{r.person.person_id}@{channel}", r, channel, chat_id)
              for r in readers.values() for channel, chat_id in r.person.addresses]
    existing = await existing_keys(session, [w[0] for w in wanted])
    out = []
    for key, reader, channel, chat_id in wanted:
        if key in existing:
            continue
        t = translator(reader.person.locale or default_locale)
        sections = []
        for pv, figures, previous in reader.parts:
            period = next(p for p in item.periods if p.frequency is pv.frequency)
            lines = [t("review-list-header", code=pv.code, title=pv.indicator.title,
                       period=period_label(period, t), count=len(figures),
                       expected=len(view.reporters.get(pv.part.id, [])))]
            flagged = flag_lines(pv, [f.submission for f in figures], previous, t)
            for number, figure in enumerate(figures, start=1):
                unit = view.units.get(figure.submission.unit_id)
                was = previous.get(figure.submission.unit_id)
                lines.append(t("review-list-line", number=number, unit=unit.name if unit else "?",
                               figure=describe_figure(figure_of(figure.submission), pv.target, t),
                               previous=describe_figure(figure_of(was), pv.target, t) if was is not None else "—",
                               evidence=figure.evidence, state=t(f"review-state-{figure.state.value}")))
                if figure.submission.unit_id in flagged:
                    lines.append(flagged[figure.submission.unit_id])
            lines.append(t("review-scheduled-how", code=pv.code))
            sections.append("\n".join(lines))
        out.append(ReviewList(key, channel, chat_id, reader.person.person_id, reader.person.name,
                              "\n\n".join(sections), t.locale))
    return out
