"""The reporting schedule: prompts, reminders, overdue notices, escalations and the steering
group's summary trigger, each sent exactly once.

- tick.py  performs what is due at one instant: builds the messages, claims each under a durable
           outbox key, and lets the channels' rate-limited senders deliver them;
- jobs.py  APScheduler wiring for `python -m bot run` (it only calls tick every minute).

What is due when is pure arithmetic in models/due.py, the schedule's queries are in
models/schedule_queries.py, and the chat's view of the schedule ("lịch nhắc", /lich) is
handlers/schedule.py. The scheduler takes what it needs (the handlers' Deps, the channels' senders)
as parameters and imports nothing of bot/: bot/run.py starts it, and `python -m bot tick` is
bot/tick_cli.py.
"""
