"""SMPP 3.4: PDU codec, text encoding, a windowed asyncio client and an SMSC simulator.

No Django import anywhere in this package: the gateway and the management commands wrap it.
"""
