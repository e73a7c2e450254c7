"""Imports every module that defines events, so every type name resolves.

Event classes register when their module is imported; a process that decodes
events it did not produce (the relay, projections, audit tools) imports this.
"""

from __future__ import annotations

from events import agent, resource_group, session, tenant

MODULES = (agent, resource_group, session, tenant)
