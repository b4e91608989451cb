"""The web pages: server-rendered Jinja2, in French, accessible, no build step."""
