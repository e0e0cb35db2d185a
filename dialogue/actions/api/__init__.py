"""Adapters to data outside the dialogue: the customer file and the appointment store."""
