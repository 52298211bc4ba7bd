"""Tool use through MCP servers: config, connections, tool-call parsing and the tool loop.

Plain Python: no Qt and no torch. The window and the command line both drive it.
"""
