-- How long a wait for the payment confirmation counts as long: T = 1 s (an expiring order waits 2 s).
SELECT 1000 AS longer_than_ms;
