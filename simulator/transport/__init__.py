"""How a host reaches a simulated pen: in-process (`sim://`), a pty, or TCP (`socket://`)."""
