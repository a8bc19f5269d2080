"""The study's subject: an order flow across three services (orders, payments, shipping) with injected faults."""
