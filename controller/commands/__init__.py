"""One module per `penctl` subcommand; each exposes `register(subparsers)`.

Handlers import their heavy dependencies (Textual, cryptography) inside the handler, so that
`penctl --help` stays fast and works even when an optional part is broken.
"""
