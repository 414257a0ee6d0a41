"""The collector's data for coding agents, over the Model Context Protocol.

`tools.py` defines the tools (list and search traces, one trace's waterfall,
errors, logs, the doctor's findings, a user's journey) on the official `mcp`
SDK; `reads.py` reads through the same read functions the API uses, on a
read-only connection; `render.py` and `waterfall_text.py` turn what was read
into compact text a model can read, every answer bounded in size.

`collector mcp` serves the tools over stdio (cli/mcp.py); the running
collector serves them at /mcp (web/mcp_http.py).
"""
