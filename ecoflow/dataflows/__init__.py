"""Dataflows: compilers from training problems to passes the simulator runs."""
