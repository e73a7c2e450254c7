"""Simulated agents: many pretend nodes in one process, over the real NATS, without containers.

They register with ``simulated=True`` (so every view says so), send heartbeats,
follow the decisions recorded on their AgentNode aggregates and answer each
``KernelAssigned`` with the facts a real agent would report, on a made-up clock.
They let the control plane be driven at scale (the scheduler benchmark, the
embedded stack until the Podman agent exists) and make agent loss easy to test.

- :mod:`~services.agent.simulated.kernels` decides which facts to report and when
  (pure; the rules for exit codes and run times are documented there);
- :mod:`~services.agent.simulated.timeline` holds facts until they are due (pure);
- :mod:`~services.agent.simulated.fleet` does the I/O and wires everything;
- :mod:`~services.agent.simulated.control` lets a test silence chosen agents.
"""
