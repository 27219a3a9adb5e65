"""The bundled TOML library: area ceilings, the default clinic policy and one profile per concern.

A package only so that it ships as package data with `profiles`; it holds no code.
"""
