"""The HTTP server inside `listener run`: app.py holds every route, server.py runs it on the daemon's loop."""
