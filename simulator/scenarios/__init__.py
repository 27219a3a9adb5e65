"""The bundled scenario library: `penctl sim --list-scenarios`, `load_scenario("flaky-link")`."""
