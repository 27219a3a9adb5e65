"""The host side of the pen link: sans-IO protocol core, transports, link and typed client."""
