"""The `sim://` handler pyserial finds through `serial.protocol_handler_packages`."""

from simulator.transport.inprocess import SimSerial as Serial

__all__ = ["Serial"]
