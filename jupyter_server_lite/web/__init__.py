"""The web layer: base handlers (auth, JSON errors, CORS/XSRF/Host checks) and app assembly."""
