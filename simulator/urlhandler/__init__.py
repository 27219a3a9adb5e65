"""pyserial URL handlers: `serial_for_url("sim://...")`; see simulator.transport.inprocess."""
