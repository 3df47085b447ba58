"""The HTTP server inside `listener run`: the inbox and dashboard for people, the JSON API for programs."""
