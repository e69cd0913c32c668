"""The demo: Northwind MSP and its connections, each to a sandbox's demo account (partner.py)."""
