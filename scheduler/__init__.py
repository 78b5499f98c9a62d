"""The reporting schedule: prompts, reminders, overdue notices, escalations and the steering
group's summary trigger, each sent exactly once.

- models/due.py  what is due when (pure: rules + working-day calendar + `now`; the chat's schedule
  view uses it too, so it lives below handlers);
- tick.py  performs what is due at one instant: builds the messages, claims each under a durable
           outbox key, and lets the channels' rate-limited senders deliver them;
- jobs.py  APScheduler wiring for `python -m bot run` (it only calls tick every minute);
- cli.py   `python -m bot tick [--now ISO-8601]`;
- view.py  the upcoming schedule for admins ("lịch nhắc", /lich).
"""
