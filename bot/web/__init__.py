"""The web desk (issue 23): the plan at a glance for leaders, one unit's figures for its officer,
and a read-only JSON API, served by aiohttp with Jinja2 templates from the bot's own database."""
