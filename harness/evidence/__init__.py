"""Runs -> evidence: the probes measured on the trained networks and everything a tier's claims are decided
from; gather.py is the driver of a tier's flow."""
