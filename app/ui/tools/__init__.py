"""The tools room: MCP servers and tool calls in the window (Tools dialog, approval cards)."""
