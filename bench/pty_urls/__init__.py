"""pyserial URL handlers for the benches: `ptymaster://FD` (bench/link.py's pymodbus peer)."""
