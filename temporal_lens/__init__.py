"""temporal-lens: can Temporal's workflow history replace logging, tracing and a history database?"""

__version__ = "0.1.0"
